// Types for scripts/build-freshness.mjs (plain JavaScript: setup runs it before anything is compiled).
export declare const BUILD_STAMP: string;
export declare function compiledIsCurrent(): boolean;
