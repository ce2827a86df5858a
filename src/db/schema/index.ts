export * from './organisations.js'
export * from './accounts.js'
export * from './signing-keys.js'
