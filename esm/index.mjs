// ES module entry: the package is compiled to CommonJS once (dist/lib); Node's CommonJS export
// detection gives these named exports.
export * from '../dist/lib/index.js'
