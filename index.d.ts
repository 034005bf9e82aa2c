// The package's public types: what `import … from 'cacheme'` sees. They are compiled from lib/
// (lib/index.ts is the public surface and nothing else), so they cannot drift from the code.
export * from './dist/lib/index.js'
