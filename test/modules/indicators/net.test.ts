import t from 'tap'
import { expectInvalid, expectValid } from './helpers.js'

t.test('domain', async (t) => {
  const label63 = 'a'.repeat(63)
  expectValid(t, 'domain', [
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['  sub.example.co.uk ', 'sub.example.co.uk'],
    ['a-b.example', 'a-b.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    ['example\u3002com', 'example.com'], // ideographic full stop is a label separator in IDNA
    [`${label63}.com`, `${label63}.com`],
    ['2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion', '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion'],
  ])
  const long = `${Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.')}.com` // 259 chars
  expectInvalid(t, 'domain', [
    ['localhost', /at least two labels/],
    ['192.168.0.1', /IP addresses are not domains/],
    ['::1', /IP addresses/],
    ['[2001:db8::1]', /IP addresses/],
    ['0x7f.1', /IP addresses/], // WHATWG would read this as 127.0.0.1
    ['https://example.com', /use type url/],
    ['example.com/path', /use type url/],
    ['example.com:8080', /use type url/],
    ['user@example.com', /use type email/],
    ['ex ample.com', /spaces/],
    ['-a.example', /must use only a-z, 0-9 and '-'/],
    ['a-.example', /not start or end with '-'/],
    ['a_b.example', /must use only a-z/],
    ['a..example', /empty label/],
    [`${'a'.repeat(64)}.com`, /longer than 63/],
    [long, /longer than 253/],
    ['xn--a.com', /not a valid/],
  ])
})

t.test('url', async (t) => {
  expectValid(t, 'url', [
    ['HTTP://Example.COM:80/a/../b?q=1#frag', 'http://example.com/b?q=1'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com:443/x', 'https://example.com/x'],
    ['https://example.com:8443/x', 'https://example.com:8443/x'],
    ['https://bücher.example/Pfad?A=B', 'https://xn--bcher-kva.example/Pfad?A=B'],
    ['ftp://files.example.org:21/pub/x.txt', 'ftp://files.example.org/pub/x.txt'],
    ['http://example.com/a b', 'http://example.com/a%20b'],
    ['http://192.0.2.1/admin', 'http://192.0.2.1/admin'],
    ['http://[2001:DB8::1]/', 'http://[2001:db8::1]/'],
    ['http://user:pw@example.com/', 'http://user:pw@example.com/'],
    // Accepted here too; onion_url is the stricter type.
    ['http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/', 'http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/'],
  ])
  expectInvalid(t, 'url', [
    ['example.com', /not a valid absolute URL/],
    ['/relative/path', /not a valid absolute URL/],
    ['http://', /not a valid absolute URL/],
    ['http://exa mple.com/', /not a valid absolute URL/],
    ['javascript:alert(1)', /only http, https and ftp/],
    ['mailto:someone@example.com', /only http, https and ftp/],
    ['file:///etc/passwd', /only http, https and ftp/],
    ['ws://example.com/', /only http, https and ftp/],
  ])
})

t.test('email', async (t) => {
  expectValid(t, 'email', [
    [' Foo.Bar@Example.COM ', 'foo.bar@example.com'],
    ['user+tag@bücher.example', 'user+tag@xn--bcher-kva.example'],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ['JÖRG@example.de', 'jörg@example.de'],
    ['a@example.com.', 'a@example.com'],
  ])
  expectInvalid(t, 'email', [
    ['foo bar@example.com', /must not contain spaces/],
    ['foo.example.com', /missing the @/],
    ['a@b@example.com', /exactly one @/],
    ['@example.com', /empty local part/],
    ['foo@', /domain is invalid/],
    ['foo@localhost', /domain is invalid: .*two labels/],
    ['foo@-x.example', /domain is invalid/],
    ['foo@[192.0.2.1]', /domain is invalid: IP/],
    ['.foo@example.com', /dot/],
    ['foo.@example.com', /dot/],
    ['foo..bar@example.com', /\.\./],
    ['"foo"@example.com', /characters that are not allowed/],
    ['a<b>@example.com', /characters that are not allowed/],
    [`${'a'.repeat(65)}@example.com`, /longer than 64/],
  ])
})
