#!/usr/bin/env node
// The operators' CLI (`npx tokens ...`): the engine is TypeScript run through tsx, so register it first.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
