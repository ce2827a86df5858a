import t from 'tap'
import { s10CheckDigit } from '../../../src/modules/indicators/validators/s10.js'
import { expectInvalid, expectValid } from './helpers.js'

t.test('phone', async (t) => {
  expectValid(t, 'phone', [
    ['+1 202-456-1111', '+12024561111'],
    ['+1 (202) 456-1111', '+12024561111'],
    ['0049 30 901820', '+4930901820'],
    ['+49 30 901820', '+4930901820'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+33 1 42 68 53 00', '+33142685300'],
    ['+31 20 624 1111', '+31206241111'],
    ['+61 2 9374 4000', '+61293744000'],
    ['+4930901820', '+4930901820'],
  ])
  expectInvalid(t, 'phone', [
    ['030 901820', /international format/],
    ['(202) 456-1111', /international format/],
    ['+49 123', /not a valid international phone number/],
    ['+1 555 0100', /not a valid international phone number/],
    ['+999 1234 5678', /not a valid international phone number/],
    ['+', /not a valid international phone number/],
    ['+44 20 7946 0958 ext 12', /only digits/],
    ['call +4930901820', /only digits/],
    ['+49 30 9O1820', /only digits/], // letter O
  ])
})

t.test('pgp_fingerprint', async (t) => {
  const fpr = 'EF6E286DDA85EA2A4BA7DE684E2C6E8793298290'
  expectValid(t, 'pgp_fingerprint', [
    [fpr, fpr],
    ['EF6E 286D DA85 EA2A 4BA7  DE68 4E2C 6E87 9329 8290', fpr],
    [fpr.toLowerCase(), fpr],
    [`0x${fpr.toLowerCase()}`, fpr],
  ])
  expectInvalid(t, 'pgp_fingerprint', [
    [fpr.slice(1), /exactly 40 hex characters, got 39/],
    [`${fpr}AB`, /exactly 40 hex characters, got 42/],
    ['4E2C6E8793298290', /key ID, not a fingerprint/],
    ['0x93298290', /key ID/],
    [`${fpr.slice(1)}G`, /only hex characters/],
  ])
})

t.test('file_hash', async (t) => {
  // Hashes of the empty string.
  const md5 = 'd41d8cd98f00b204e9800998ecf8427e'
  const sha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709'
  const sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
  expectValid(t, 'file_hash', [
    [md5, md5, 'md5'],
    [md5.toUpperCase(), md5, 'md5'],
    [sha1, sha1, 'sha1'],
    [`${sha256.slice(0, 32)} ${sha256.slice(32)}`, sha256, 'sha256'],
  ])
  expectInvalid(t, 'file_hash', [
    [md5.slice(1), /32 \(MD5\), 40 \(SHA-1\) or 64 \(SHA-256\) hex characters, got 31/],
    [`${sha256}${sha256}`, /got 128/],
    [`sha256:${sha256}`, /only hex characters/],
    [`${md5.slice(1)}z`, /only hex/],
  ])
})

t.test('postal_item (UPU S10)', async (t) => {
  // Independent re-statement of the S10 rule, to cross-check the fixed vectors below.
  const check = (serial: string): number => {
    const w = [8, 6, 4, 2, 3, 5, 9, 7]
    const r = 11 - (w.reduce((s, wi, i) => s + wi * Number(serial[i]), 0) % 11)
    return r === 10 ? 0 : r === 11 ? 5 : r
  }
  // 12345678: sum 204, 204 mod 11 = 6, 11-6 = 5.   47312482: sum 200, mod 11 = 2 -> 9.
  // 00000008: sum 56, mod 11 = 1 -> 10 -> 0.        00000000: sum 0 -> 11 -> 5.
  for (const [serial, digit] of [
    ['12345678', 5],
    ['47312482', 9],
    ['00000008', 0],
    ['00000000', 5],
  ] as const) {
    t.equal(s10CheckDigit(serial), digit, `check digit of ${serial}`)
    t.equal(check(serial), digit, `independent check digit of ${serial}`)
  }
  expectValid(t, 'postal_item', [
    ['RR123456785DE', 'RR123456785DE'],
    ['EE123456785GB', 'EE123456785GB'],
    ['RA473124829GB', 'RA473124829GB'],
    ['rr 123 456 785 de', 'RR123456785DE'],
    ['CP000000080NL', 'CP000000080NL'],
    ['LX000000005US', 'LX000000005US'],
  ])
  expectInvalid(t, 'postal_item', [
    ['RR123456784DE', /check digit does not match \(expected 5\)/],
    ['RA473124828GB', /check digit does not match \(expected 9\)/],
    ['CP000000085NL', /check digit does not match \(expected 0\)/],
    ['LX000000000US', /check digit does not match \(expected 5\)/],
    ['RR12345678DE', /S10 identifier/],
    ['RR1234567850DE', /S10 identifier/],
    ['1R123456785DE', /S10 identifier/],
    ['RR123456785D1', /S10 identifier/],
    ['RR-123456785-DE', /S10 identifier/],
  ])
})
