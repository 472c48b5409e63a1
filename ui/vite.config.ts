import { defineConfig } from 'vite';

// The built files are embedded in the osprey binary (crates/view/build.rs): no external
// fetches, relative paths, no source maps.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, assetsInlineLimit: 0 },
});
