import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset paths: the same build loads from file:// in Electron and from the loopback server.
  base: './',
  plugins: [svelte()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The export fonts (DejaVu Sans, ~1 MB each as inline data) are lazy chunks loaded on the first export.
    chunkSizeWarningLimit: 1100,
  },
});
