#!/usr/bin/env node
import { loadEntry } from './load-entry.js';

await loadEntry('cli/main');
