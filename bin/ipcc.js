#!/usr/bin/env node
// Launcher for the ipcc command line: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
