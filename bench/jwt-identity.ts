// A JWT identity (user identity type 5, PS3.7 D.3.3.7) for the association-rate benchmark:
// an RS256 key made at run time with jose, its public half as a JWKS file the sidecar
// is configured with (identity.mode Required), and one token signed with it that every
// association of the loop presents. RS256 with a 2048-bit key: what identity providers
// such as Keycloak issue by default.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { UserIdentityType, type UserIdentityRequest } from '../sidecar/wire/pdu.ts';
import type { SidecarVariant } from './paths.ts';

const ISSUER = 'https://idp.bench.example.org/realms/hospital';
const AUDIENCE = 'pacs';
const KID = 'bench-1';

export interface JwtIdentity {
  /** The sidecar that verifies the token: identity.mode Required, identity.jwt with the JWKS file. */
  variant: SidecarVariant;
  /** The user identity sub-item carrying the token. */
  userIdentity: UserIdentityRequest;
}

/** Writes the JWKS into `dir`; the token is valid for an hour, longer than any run. */
export async function createJwtIdentity(dir: string): Promise<JwtIdentity> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] }));
  const token = await new SignJWT({ groups: ['radiology'] })
    .setProtectedHeader({ alg: 'RS256', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  return {
    variant: { label: 'jwt', config: { identity: { mode: 'Required', jwt: { issuer: ISSUER, audiences: [AUDIENCE], jwksFile, algorithms: ['RS256'] } } } },
    userIdentity: { identityType: UserIdentityType.Jwt, positiveResponseRequested: false, primaryField: new TextEncoder().encode(token), secondaryField: new Uint8Array(0) },
  };
}
