import { sha256 } from '@noble/hashes/sha2.js'
import { createBase58check } from '@scure/base'
import t from 'tap'
import { decodeSegwit } from '../../../src/modules/indicators/validators/bitcoin.js'
import { expectInvalid, expectValid } from './helpers.js'

/** scriptPubKey = OP_n (0x00 or 0x50+n) || push(len) || program, as listed in BIP-173/BIP-350. */
function scriptPubKey(value: string): string {
  const d = decodeSegwit(value)
  if (typeof d === 'string') return `invalid: ${d}`
  const op = d.version === 0 ? 0 : 0x50 + d.version
  return Buffer.concat([Buffer.from([op, d.program.length]), d.program]).toString('hex')
}

// BIP-350 "Test vectors for v0-v16 native segregated witness addresses" (valid), with their scriptPubKeys.
const BIP350_VALID: ReadonlyArray<readonly [string, string]> = [
  ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', '0014751e76e8199196d454941c45d1b3a323f1433bd6'],
  ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262'],
  [
    'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y',
    '5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6',
  ],
  ['BC1SW50QGDZ25J', '6002751e'],
  ['bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', '5210751e76e8199196d454941c45d1b3a323'],
  ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433'],
  ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433'],
  ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'],
]

t.test('BIP-350 valid segwit addresses decode to the published scriptPubKey', async (t) => {
  for (const [addr, spk] of BIP350_VALID) t.equal(scriptPubKey(addr), spk, addr)
  expectValid(
    t,
    'crypto_address',
    BIP350_VALID.map(([addr]) => [addr, addr.toLowerCase(), addr.toLowerCase().startsWith('bc') ? 'bitcoin' : 'bitcoin-testnet'] as const),
  )
})

t.test('BIP-350 invalid segwit addresses', async (t) => {
  expectInvalid(t, 'crypto_address', [
    ['tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut', /prefix must be bc .* or tb/],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', /must use bech32m, not bech32/],
    ['tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf', /must use bech32m, not bech32/],
    ['BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL', /must use bech32m, not bech32/],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', /version 0 must use bech32, not bech32m/],
    ['tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47', /version 0 must use bech32, not bech32m/],
    ['bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4', /invalid character/],
    ['BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R', /witness version/],
    ['bc1pw5dgrnzv', /program length/],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav', /program length/],
    ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', /length for witness version 0/],
    ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq', /mix upper and lower case/],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf', /padding/],
    ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j', /padding/],
    ['bc1gmk9yu', /empty data section/],
  ])
})

t.test('BIP-173 invalid addresses, and BIP-173 v1+ vectors made invalid by BIP-350', async (t) => {
  expectInvalid(t, 'crypto_address', [
    ['tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty', /prefix/],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', /checksum does not match/],
    ['BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2', /witness version/],
    ['bc1rw5uspcuh', /program length/],
    ['bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90', /program length/],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7', /mix upper and lower case/],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du', /padding/],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv', /padding/],
    // Valid under BIP-173 (bech32 for v1/v2/v16), invalid since BIP-350.
    ['bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx', /bech32m/],
    ['BC1SW50QA3JX3S', /bech32m/],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj', /bech32m/],
    // Regtest and other chains' prefixes.
    ['bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', /prefix/],
  ])
})

const base58check = createBase58check(sha256)
const HASH160 = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i)
const withVersion = (v: number): string => base58check.encode(Uint8Array.from([v, ...HASH160]))

t.test('Base58Check legacy addresses', async (t) => {
  expectValid(t, 'crypto_address', [
    // Genesis block coinbase address (P2PKH) and a widely published P2SH example.
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'bitcoin'],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'bitcoin'],
    ['mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', 'bitcoin-testnet'],
    ['2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc', '2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc', 'bitcoin-testnet'],
    [` ${withVersion(0x00)} `, withVersion(0x00), 'bitcoin'],
    [withVersion(0x05), withVersion(0x05), 'bitcoin'],
    [withVersion(0x6f), withVersion(0x6f), 'bitcoin-testnet'],
    [withVersion(0xc4), withVersion(0xc4), 'bitcoin-testnet'],
  ])
  t.match(withVersion(0x00), /^1/)
  t.match(withVersion(0x05), /^3/)
  t.match(withVersion(0xc4), /^2/)
  expectInvalid(t, 'crypto_address', [
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb', /Base58Check checksum does not match/],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNA', /Base58Check checksum does not match/],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz', /checksum/],
    // '0' is not in the base58 alphabet.
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a', /not a recognised/],
    // Litecoin (0x30) / Dogecoin (0x1e) version bytes: valid Base58Check, not Bitcoin.
    [withVersion(0x30), /version byte/],
    [withVersion(0x1e), /version byte/],
    [base58check.encode(Uint8Array.from([0, ...HASH160.subarray(1)])), /version byte or length/],
    ['hello world', /not a recognised/],
  ])
})
