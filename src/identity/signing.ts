// The algorithms an identity token (and a signing key) may use: the settings offer them
// (tokens.alg), the key set holds them, the store's key documents are checked against them.
export const SIGNING_ALGS = ['ES256', 'RS256', 'EdDSA'] as const;

export type SigningAlg = (typeof SIGNING_ALGS)[number];
