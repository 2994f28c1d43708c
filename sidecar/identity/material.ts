// What the identity verifiers are built from besides the config: the contents of the
// files the config names. The proxy reads the files (and rereads them on reload); the
// verifiers only ever see text, so that a verifier is a function of (config, material).

export interface IdentityMaterial {
  /** Contents of identity.htpasswd.file. */
  htpasswd?: string;
  /** Contents of identity.jwt.jwksFile (a JSON Web Key Set), when jwksFile is configured. */
  jwks?: string;
  /** Contents of identity.ldap.caFile (PEM), when caFile is configured. */
  ldapCA?: string;
}

/**
 * The material cannot be used: the message names the file or field and, where there is
 * one, the line. It never quotes a hash or a key's secret part.
 */
export class IdentityMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityMaterialError';
  }
}
