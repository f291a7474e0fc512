// Types for bin/load-entry.js (plain JavaScript: the bins run before anything is compiled).
export declare const BUILD_STAMP: string;
export declare function loadEntry(entry: string): Promise<void>;
export declare function compiledIsCurrent(): boolean;
