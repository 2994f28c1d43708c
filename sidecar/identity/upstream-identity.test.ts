// The identity an edge presents upstream, from its config and files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upstreamIdentityRequest } from './upstream-identity.ts';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test('type 1, 2 and 5 from username, passcode file and JWT file; one trailing line break is not part of a passcode', () => {
  const one = upstreamIdentityRequest({ username: 'site-a', positiveResponseRequested: false }, {});
  assert.equal([one.identityType, decode(one.primaryField), one.secondaryField.length, one.positiveResponseRequested], [1, 'site-a', 0, false]);
  const two = upstreamIdentityRequest({ username: 'site-a', passcodeFile: '/p', positiveResponseRequested: true }, { passcode: ' pass code \n' });
  assert.equal([two.identityType, decode(two.primaryField), decode(two.secondaryField), two.positiveResponseRequested], [2, 'site-a', ' pass code ', true]);
  const five = upstreamIdentityRequest({ jwtFile: '/t', positiveResponseRequested: false }, { jwt: '  eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzaXRlLWEifQ.c2ln\n' });
  assert.equal([five.identityType, decode(five.primaryField), five.secondaryField.length], [5, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzaXRlLWEifQ.c2ln', 0]);
});

test('refused, naming the field: an empty passcode, a file that is not a JWT', () => {
  assert.throws(() => upstreamIdentityRequest({ username: 'site-a', passcodeFile: '/p', positiveResponseRequested: false }, { passcode: '\n' }), /upstream\.identity\.passcodeFile: the passcode file is empty/);
  assert.throws(() => upstreamIdentityRequest({ jwtFile: '/t', positiveResponseRequested: false }, { jwt: 'not a token' }), /upstream\.identity\.jwtFile: not a compact JWT/);
});

test.run();
