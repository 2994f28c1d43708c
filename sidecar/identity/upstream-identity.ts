// Edge mode: the user identity the sidecar presents to the upstream in place of the
// caller's (PS3.7 D.3.3.7.1), from upstream.identity and the files it names. Pure.
import type { UpstreamConfig } from '../config/schema.ts';
import { UserIdentityType, type UserIdentityRequest } from '../wire/pdu.ts';
import { IdentityMaterialError } from './material.ts';

const utf8 = new TextEncoder();

/**
 * Files as Secrets and editors write them: one trailing line break is not part of the
 * passcode; a JWT has no whitespace at all.
 */
const withoutLineBreak = (text: string) => text.replace(/\r?\n$/, '');

export function upstreamIdentityRequest(config: NonNullable<UpstreamConfig['identity']>, files: { passcode?: string | undefined; jwt?: string | undefined }): UserIdentityRequest {
  const positiveResponseRequested = config.positiveResponseRequested;
  if (config.jwtFile) {
    const jwt = (files.jwt ?? '').trim();
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(jwt)) throw new IdentityMaterialError('upstream.identity.jwtFile: not a compact JWT (three base64url parts)');
    if (jwt.length > 0xffff) throw new IdentityMaterialError('upstream.identity.jwtFile: a JWT sent as a user identity has at most 65535 bytes (PS3.7 Table D.3-14)');
    return { identityType: UserIdentityType.Jwt, positiveResponseRequested, primaryField: utf8.encode(jwt), secondaryField: new Uint8Array(0) };
  }
  const primaryField = utf8.encode(config.username!);
  if (!config.passcodeFile) return { identityType: UserIdentityType.Username, positiveResponseRequested, primaryField, secondaryField: new Uint8Array(0) };
  const passcode = withoutLineBreak(files.passcode ?? '');
  if (passcode.length === 0) throw new IdentityMaterialError('upstream.identity.passcodeFile: the passcode file is empty');
  // PS3.7 Table D.3-14: each field's length is a 16-bit count.
  if (utf8.encode(passcode).length > 0xffff) throw new IdentityMaterialError('upstream.identity.passcodeFile: a passcode has at most 65535 bytes');
  return { identityType: UserIdentityType.UsernameAndPasscode, positiveResponseRequested, primaryField, secondaryField: utf8.encode(passcode) };
}
