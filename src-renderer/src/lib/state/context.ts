import { createContext } from 'svelte';
import type { FileAccess } from '../api/files.js';
import type { FiguresState } from './figures.svelte.js';
import type { LabState } from './lab.svelte.js';
import type { LatentsCache } from './latents-cache.js';
import type { QueryState } from './query.svelte.js';
import type { Router } from './router.svelte.js';
import type { RunsState } from './runs.svelte.js';
import type { ThemeState } from './theme.svelte.js';

export const [getLab, setLab] = createContext<LabState>();
export const [getRouter, setRouter] = createContext<Router>();
export const [getRuns, setRuns] = createContext<RunsState>();
export const [getTheme, setTheme] = createContext<ThemeState>();
export const [getFigures, setFigures] = createContext<FiguresState>();
export const [getFiles, setFiles] = createContext<FileAccess>();
export const [getQuery, setQuery] = createContext<QueryState>();
export const [getLatents, setLatents] = createContext<LatentsCache>();
