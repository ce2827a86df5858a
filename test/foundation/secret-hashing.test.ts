// Client-secret hashes carry their scrypt parameters: the cost of new hashes is configuration
// (DCX_SECRET_HASH_COST, at least 2^14 from an environment; lower only in tests), and a hash made
// at any cost — one stored before the cost was configurable included — keeps verifying.
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { DUMMY_HASH, hashSecret, setSecretHashCost, verifySecret } from '../../src/core/secrets.js'
import { TEST_SECRET_HASH_COST, testConfig } from '../helper.js'

// Made by the code before this setting existed (N=2^15, r=8, p=1).
const STORED_SECRET = 'dcxs_hashed-before-the-cost-was-configurable'
const STORED_HASH = 'scrypt$32768$8$1$CZ8QqdziF1zEU2Ymok5CbA$0wwI4SQsUtrX0fVfDpzH_hv1cfuR3vWveLeyWKAeVeI'

t.test('the configuration: default 2^15, nothing below 2^14 from an environment, a low cost in tests', async (t) => {
  t.equal(loadConfig({}).secretHashCost, 15, "today's N=2^15 by default")
  t.equal(loadConfig({ DCX_SECRET_HASH_COST: '17' }).secretHashCost, 17, 'raised')
  t.throws(() => loadConfig({ DCX_SECRET_HASH_COST: '13' }), ConfigError, 'below 2^14 is refused')
  t.throws(() => loadConfig({ DCX_SECRET_HASH_COST: 'fast' }), ConfigError, 'not a number is refused')
  t.equal(testConfig().secretHashCost, TEST_SECRET_HASH_COST, 'tests hash cheaply')
  t.ok(TEST_SECRET_HASH_COST < 14, 'which no environment could configure')
})

t.test('each hash says how it was made and verifies whatever the current setting', async (t) => {
  t.teardown(() => setSecretHashCost(15))
  setSecretHashCost(TEST_SECRET_HASH_COST)
  const cheap = await hashSecret('dcxs_a')
  t.match(cheap, new RegExp(`^scrypt\\$${2 ** TEST_SECRET_HASH_COST}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`), 'N, r, p, salt, key')
  t.equal(await verifySecret('dcxs_a', cheap), true)
  t.equal(await verifySecret('dcxs_b', cheap), false, 'a wrong secret fails')
  t.equal(await verifySecret(STORED_SECRET, STORED_HASH), true, 'a hash stored at N=2^15 verifies while new ones are cheaper')
  t.equal(await verifySecret(`${STORED_SECRET}x`, STORED_HASH), false)

  const explicit = await hashSecret('dcxs_c', 12)
  t.match(explicit, /^scrypt\$4096\$8\$1\$/, 'an explicit cost')
  setSecretHashCost(15)
  t.equal(await verifySecret('dcxs_c', explicit), true, 'verifies after the setting is raised again')
  t.match(await hashSecret('dcxs_d'), /^scrypt\$32768\$8\$1\$/, 'new hashes follow the setting')
  t.throws(() => setSecretHashCost(0), RangeError)
})

t.test('the stand-in for an unknown client never matches', async (t) => {
  t.equal(await verifySecret('', DUMMY_HASH), false)
  t.equal(await verifySecret(DUMMY_HASH, DUMMY_HASH), false, 'not even itself')
  t.equal(await verifySecret('dcxs_a', 'not-a-hash'), false, 'a malformed stored hash fails')
})
