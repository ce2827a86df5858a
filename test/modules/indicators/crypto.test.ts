import { keccak_256 } from '@noble/hashes/sha3.js'
import { base58xmr } from '@scure/base'
import t from 'tap'
import { eip55 } from '../../../src/modules/indicators/validators/ethereum.js'
import { expectInvalid, expectValid } from './helpers.js'

// EIP-55 specification examples.
const EIP55_ALL_CAPS = ['0x52908400098527886E0F7030069857D2E4169EE7', '0x8617E340B3D01FA5F11F306F4090FD50E238070D']
const EIP55_ALL_LOWER = ['0xde709f2102306220921060314715629080e2fb77', '0x27b1fdb04752bbc536007a920d24acb045561c26']
const EIP55_NORMAL = [
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
]
const ALL = [...EIP55_ALL_CAPS, ...EIP55_ALL_LOWER, ...EIP55_NORMAL]

/** Flip the case of the first letter after 0x, which breaks the EIP-55 checksum. */
function flipOneCase(addr: string): string {
  const i = addr.slice(2).search(/[a-fA-F]/) + 2
  const ch = addr[i] ?? ''
  const flipped = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()
  return addr.slice(0, i) + flipped + addr.slice(i + 1)
}

t.test('Ethereum / EIP-55', async (t) => {
  for (const addr of EIP55_NORMAL) t.equal(`0x${eip55(addr.slice(2).toLowerCase())}`, addr, `eip55 reproduces ${addr}`)
  expectValid(
    t,
    'crypto_address',
    ALL.map((a) => [a, `0x${a.slice(2).toLowerCase()}`, 'ethereum'] as const),
  )
  expectValid(t, 'crypto_address', [['0X52908400098527886E0F7030069857D2E4169EE7', '0x52908400098527886e0f7030069857d2e4169ee7', 'ethereum']])
  expectInvalid(t, 'crypto_address', [
    ...EIP55_NORMAL.map((a) => [flipOneCase(a), /EIP-55 checksum does not match/] as const),
    // Mixed case that is neither all-lower nor all-upper nor checksummed.
    ['0x52908400098527886E0F7030069857D2E4169Ee7', /EIP-55/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe', /0x followed by 40 hex/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd', /0x followed by 40 hex/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg', /0x followed by 40 hex/],
  ])
})

// The Monero project's general-fund donation address (standard address, network byte 18).
const MONERO_DONATION = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A'

/** Builds an address independently: tag || keys [|| payment id] || keccak256(...)[0..4]. */
function moneroAddress(tag: number, extra = 0): string {
  const body = Uint8Array.from([tag, ...Array.from({ length: 64 + extra }, (_, i) => (i * 7 + tag) & 0xff)])
  return base58xmr.encode(Uint8Array.from([...body, ...keccak_256(body).subarray(0, 4)]))
}

t.test('Monero', async (t) => {
  const sub = moneroAddress(42)
  const integrated = moneroAddress(19, 8)
  const standard = moneroAddress(18)
  t.match(sub, /^8/)
  t.equal(sub.length, 95)
  t.match(integrated, /^4/)
  t.equal(integrated.length, 106)
  expectValid(t, 'crypto_address', [
    [MONERO_DONATION, MONERO_DONATION, 'monero'],
    [` ${MONERO_DONATION} `, MONERO_DONATION, 'monero'],
    [standard, standard, 'monero'],
    [sub, sub, 'monero'],
    [integrated, integrated, 'monero'],
  ])
  const swap = (s: string, i: number, c: string): string => s.slice(0, i) + c + s.slice(i + 1)
  expectInvalid(t, 'crypto_address', [
    [swap(MONERO_DONATION, 94, 'B'), /checksum does not match/],
    [MONERO_DONATION.replace('DBLW', 'DBLX'), /checksum does not match/],
    [moneroAddress(53), /testnet\/stagenet/],
    [moneroAddress(24), /testnet\/stagenet/],
    [moneroAddress(19), /unknown Monero address type/],
    [moneroAddress(18, 8), /unknown Monero address type/],
    [moneroAddress(77), /unknown Monero address type/],
    [MONERO_DONATION.slice(0, 94), /not a recognised/],
    // An 11-char block above 2^64 decodes to nothing an encoder would produce.
    [`zzzzzzzzzzz${MONERO_DONATION.slice(11)}`, /not valid Monero base58/],
  ])
})
