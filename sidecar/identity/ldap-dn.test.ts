import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeDnValue, firstRdnValue, userDn } from './ldap-dn.ts';

// RFC 4514 section 2.4, one row per rule.
const table: [string, string, string][] = [
  ['plain', 'alice', 'alice'],
  ['comma', 'a,b', 'a\\,b'],
  ['plus', 'a+b', 'a\\+b'],
  ['double quote', 'a"b', 'a\\"b'],
  ['backslash', 'a\\b', 'a\\\\b'],
  ['less than', 'a<b', 'a\\<b'],
  ['greater than', 'a>b', 'a\\>b'],
  ['semicolon', 'a;b', 'a\\;b'],
  ['equals', 'a=b', 'a\\=b'],
  ['leading space', ' alice', '\\ alice'],
  ['leading #', '#alice', '\\#alice'],
  ['# not leading', 'al#ice', 'al#ice'],
  ['space inside', 'al ice', 'al ice'],
  ['trailing space', 'alice ', 'alice\\ '],
  ['a single space', ' ', '\\ '],
  ['NUL', 'a\0b', 'a\\00b'],
  ['other control characters', 'a\nb\x7f', 'a\\0ab\\7f'],
  ['non-ASCII stays as is', 'jörg 山田', 'jörg 山田'],
  ['the injection', 'alice,ou=admins', 'alice\\,ou\\=admins'],
];

for (const [name, value, escaped] of table) {
  test(`escapeDnValue: ${name}`, () => {
    assert.is(escapeDnValue(value), escaped);
  });
}

test('userDn: fills every {username}, escaped', () => {
  assert.is(userDn('uid={username},ou=people,dc=example,dc=org', 'alice,ou=admins'), 'uid=alice\\,ou\\=admins,ou=people,dc=example,dc=org');
  assert.is(userDn('cn={username},ou={username}', 'a+b'), 'cn=a\\+b,ou=a\\+b');
});

test('userDn: "$&" in a username is text, not a replacement pattern', () => {
  assert.is(userDn('uid={username},dc=x', "$&$'$`"), "uid=$&$'$`,dc=x");
});

test('firstRdnValue: the group name in a memberOf value', () => {
  assert.is(firstRdnValue('cn=radiology,ou=groups,dc=example,dc=org'), 'radiology');
  assert.is(firstRdnValue('CN = Radiology Staff ,ou=groups'), 'Radiology Staff');
  assert.is(firstRdnValue('cn=r\\2c d\\c3\\a9p,ou=groups'), 'r, dép');
  assert.is(firstRdnValue('radiology'), undefined, 'a plain value is not a DN');
  assert.is(firstRdnValue('cn=only-one-rdn'), undefined, 'a single RDN is not taken for a group DN');
});

test('firstRdnValue undoes escapeDnValue', () => {
  for (const [, value] of table) {
    assert.is(firstRdnValue(`cn=${escapeDnValue(value)},dc=example`), value, JSON.stringify(value));
  }
});

test.run();
