import t from 'tap'
import { expectInvalid, expectValid } from './helpers.js'

t.test('vendor_alias', async (t) => {
  expectValid(t, 'vendor_alias', [
    ['  DrugKing  ', 'drugking'],
    ['ＤｒｕｇＫｉｎｇ', 'drugking'], // full-width letters (NFKC)
    ['Dr.\u00A0\u00A0Feel   Good', 'dr. feel good'], // NBSP and runs of spaces -> one space
    ['\uFB01re_Sale', 'fire_sale'], // "ﬁ" ligature
    ['\u210Cappy', 'happy'], // ℌ (black-letter H)
    ['Vendor\u2460', 'vendor1'], // ① circled digit
    ['Ｃａｆé', 'café'],
    ['Cafe\u0301', 'café'], // decomposed é is composed
    ['ΣΊΣΥΦΟΣ', 'σίσυφος'], // toLowerCase applies the final-sigma rule (documented limitation, see text.ts)
    ['🍄 Shroom King', '🍄 shroom king'],
    ['a'.repeat(200), 'a'.repeat(200)],
    ['🍄'.repeat(200), '🍄'.repeat(200)], // 200 code points (400 UTF-16 units) is still within the limit
  ])
  expectInvalid(t, 'vendor_alias', [
    ['a'.repeat(201), /at most 200 characters/],
    ['drug\nking', /control character \(U\+000A\)/],
    ['drug\tking', /control character \(U\+0009\)/],
    ['drug\u0085king', /control character \(U\+0085\)/], // C1 NEL
    ['drug\u007Fking', /control character \(U\+007F\)/],
    ['\u00A0\u3000', /empty/],
  ])
})

t.test('person_name', async (t) => {
  expectValid(t, 'person_name', [
    ['John\n\tSMITH', 'john smith'],
    ['  Ｍüller,   Hans ', 'müller, hans'],
    ['José\r\nGarcía', 'josé garcía'],
    ['Иван Петров', 'иван петров'],
  ])
  expectInvalid(t, 'person_name', [
    ['John\u0007Smith', /control character \(U\+0007\)/],
    ['John\u000BSmith', /control character \(U\+000B\)/],
    ['John\u009BSmith', /control character \(U\+009B\)/],
  ])
})

t.test('postal_address', async (t) => {
  expectValid(t, 'postal_address', [
    ['Hauptstraße 1\r\n10115 Berlin\r\nGERMANY', 'hauptstraße 1 10115 berlin germany'],
    ['  221B Baker Street,\n\tLondon NW1 6XE  ', '221b baker street, london nw1 6xe'],
    ['Ｐｏｓｔｆａｃｈ １２', 'postfach 12'],
    ['x'.repeat(4000), 'x'.repeat(4000)],
  ])
  expectInvalid(t, 'postal_address', [
    ['x'.repeat(4001), /longer than 4000 characters/],
    ['Street 1\u001BCity', /control character \(U\+001B\)/],
    // U+FDFA expands to 18 characters under NFKC: the stored value must still fit.
    ['\uFDFA'.repeat(300), /too long after normalisation/],
  ])
})

t.test('shipping_pattern', async (t) => {
  expectValid(t, 'shipping_pattern', [
    ['  Vacuum-sealed,\n\tinside a DVD case  \n', 'Vacuum-sealed,\n\tinside a DVD case'],
    ['line 1\r\nline 2', 'line 1\nline 2'],
    ['Cafe\u0301   tin', 'Café   tin'], // NFC only: case and inner spacing are kept
    ['ＤＶＤ', 'ＤＶＤ'], // NFC does not fold compatibility characters
    ['y'.repeat(4000), 'y'.repeat(4000)],
  ])
  expectInvalid(t, 'shipping_pattern', [
    ['line 1\rline 2', /control character \(U\+000D\)/],
    ['bell\u0007', /control character \(U\+0007\)/],
    ['esc\u001B[31m red', /control character \(U\+001B\)/],
    ['y'.repeat(4001), /longer than 4000 characters/],
  ])
})

t.test('invisible characters are folded out of text types, phones and e-mail local parts', async (t) => {
  expectValid(t, 'vendor_alias', [
    ['Mare\u200Bk', 'marek'],
    ['\u200DMa\u00ADrek\uFEFF', 'marek'],
    ['Ma\u202Erek\u202C', 'marek'],
    ['Ma\u2066re\u2069k\u200E', 'marek'],
    ['Marek\uFE0F\u{E0100}', 'marek'],
    ['M\u034Farek', 'marek'],
  ])
  expectValid(t, 'person_name', [['Mare\u200Ck  \u2060Nowak', 'marek nowak']])
  expectValid(t, 'postal_address', [['Main\u00AD street 1', 'main street 1']])
  expectValid(t, 'shipping_pattern', [['\uFEFFDVD\u200B case', 'DVD case']])
  expectValid(t, 'phone', [['+44 20\u200B 7946 0958', '+442079460958']])
  expectValid(t, 'email', [['Ma\u200Drek@example.org', 'marek@example.org']])
  expectInvalid(t, 'vendor_alias', [['\u200B\uFEFF', /empty/]])
})
