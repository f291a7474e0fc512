// One check for flags that take an http(s) URL (the bootstrap URL, the notify webhook).
// Its own module: the node agent's entry point loads it without the rest of the CLI.

/** An absolute http:// or https:// URL with a host. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}
