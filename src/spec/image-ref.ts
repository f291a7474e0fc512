// Image references of the node agent. Every node of a cluster must run the same agent,
// so a reference is pinned: a version tag or a sha256 digest. `:latest`, or no tag at all
// (which means latest), could mix agent versions across nodes launched at different times.

/** Repository with an optional registry host and port (lower-case path components). */
export const IMAGE_REF_PATTERN =
  '^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$';

/** The same rule in CEL for the CRD: a tag after the last `/`, or a digest; not latest. */
export const PINNED_IMAGE_CEL = "!self.endsWith(':latest') && self.matches('(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[0-9a-f]{64})$')";

export const PINNED_IMAGE_MESSAGE =
  'must be pinned to a version tag or a sha256 digest (e.g. registry.example.com/swarmkeeper:0.1.0), not :latest or untagged';

/** Why `ref` is not a pinned image reference, or undefined when it is one. */
export function imageRefProblem(ref: string): string | undefined {
  if (!new RegExp(IMAGE_REF_PATTERN).test(ref))
    return `${JSON.stringify(ref)} is not an image reference ([registry[:port]/]name[:tag][@sha256:digest], lower-case name)`;
  if (ref.includes('@sha256:')) return undefined;
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  if (colon < 0 || name.slice(colon + 1) === 'latest') return `${JSON.stringify(ref)} ${PINNED_IMAGE_MESSAGE}`;
  return undefined;
}
