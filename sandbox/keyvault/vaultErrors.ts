// Key Vault's error bodies and messages, each with where it was seen; the stand-in's own texts (where no
// real one was found) are marked UNCONFIRMED here and in ./README.md.

/** Key Vault's error shape (`KeyVaultError` in the SDK; `innererror` is lower-case on the wire). */
export interface KeyVaultErrorBody {
  error: { code: string; message: string; innererror?: { code: string } };
}

/** A refusal: HTTP status and body; `challenge` adds `WWW-Authenticate`, `retryAfterSeconds` `Retry-After`. */
export interface VaultRefusal {
  status: number;
  body: KeyVaultErrorBody;
  challenge?: boolean;
  retryAfterSeconds?: number;
}

const refusal = (status: number, code: string, message: string, inner?: string): VaultRefusal => ({
  status,
  body: { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } },
});

/**
 * Every 401 carries the challenge: "When an access token is not supplied, or when a token is not accepted
 * by the service, an HTTP 401 error will be returned ... and will include the WWW-Authenticate header"
 * (MicrosoftDocs/azure-docs, key-vault/general/authentication-requests-and-responses.md).
 */
const unauthorized = (message: string): VaultRefusal => ({
  ...refusal(401, 'Unauthorized', message),
  challenge: true,
});

/** Refusals of the bearer token. The token itself never appears in a message. */
export const tokenRefusals = {
  /** Confirmed verbatim (azure-sdk-for-js keyvault-secrets recordings, 2022). */
  missing: () => unauthorized('AKV10000: Request is missing a Bearer or PoP token.'),
  /**
   * Confirmed (hashicorp/terraform-provider-azurerm#30912, Azure-Samples/azuresandbox#362): the `kid` is not
   * among the keys, or the keys could not be fetched. The quoted segment is the token's header only.
   */
  unresolvedKey: (encodedHeader: string) =>
    unauthorized(
      `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${encodedHeader}'.`,
    ),
  /** UNCONFIRMED: not a compact JWS, bad signature, disallowed `alg`, claims missing or mistyped. */
  invalid: () => unauthorized('Invalid token: the token could not be validated.'),
  /** Confirmed (Azure/azure-sdk-for-python#27266, CDCgov/prime-reportstream#2566). */
  expired: () => unauthorized("[TokenExpired] Error validating token: 'S2S12086'."),
  /** UNCONFIRMED for vaults: Managed HSM's observed text (Azure/azure-sdk-for-java#26624). */
  notYetValid: () => unauthorized('Token not yet valid.'),
  /** Confirmed format (MicrosoftDocs/azure-docs#109562 and many reports). */
  audience: (expected: string, found: string) =>
    unauthorized(`AKV10022: Invalid audience. Expected ${expected}, found: ${found}.`),
  /** Confirmed format (azure-sdk-for-go and -cpp keyvault TROUBLESHOOTING.md). */
  issuer: (expected: readonly string[], found: string) =>
    unauthorized(`AKV10032: Invalid issuer. Expected one of ${expected.join(', ')}, found ${found}.`),
};

/**
 * 403 for a missing access-policy permission. Confirmed verbatim, with `innererror.code` AccessDenied
 * (MicrosoftDocs/SupportArticles-docs, azure-kubernetes/extensions/istio-add-on-plug-in-ca-certificate.md).
 */
export const forbidden = (
  caller: { appId: string; objectId: string; issuer: string },
  permission: string,
  vault: { vaultName: string; location: string },
): VaultRefusal =>
  refusal(
    403,
    'Forbidden',
    `The user, group or application 'appid=${caller.appId};oid=${caller.objectId};iss=${caller.issuer}' does not have secrets ${permission} permission on key vault '${vault.vaultName};location=${vault.location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    'AccessDenied',
  );

/** Confirmed verbatim (azure-sdk-for-js recording "cant get a disabled secret"). */
export const secretDisabled = (): VaultRefusal =>
  refusal(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');

/**
 * Confirmed verbatim for a missing name (azure-sdk-for-js recording "can get a secret non existing"); the
 * `name/version` form for a missing version of an existing secret is UNCONFIRMED.
 */
export const secretNotFound = (nameOrId: string): VaultRefusal =>
  refusal(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );

/** Code and text confirmed by user reports ("(BadParameter) The request URI contains an invalid name: x"). */
export const invalidName = (name: string): VaultRefusal =>
  refusal(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);

/**
 * Text confirmed (quoted in inspec/inspec-azure's azure_backend.rb for Key Vault); code BadParameter and
 * status 400 UNCONFIRMED. A missing api-version gets the same answer (UNCONFIRMED; the docs say only that
 * "there is no default").
 */
export const unsupportedApiVersion = (given: string, latest: string): VaultRefusal =>
  refusal(
    400,
    'BadParameter',
    `The specified version (${given}) is not recognized. Consider using the latest supported version (${latest}).`,
  );

/** Confirmed verbatim for `PUT /secrets/` (azure-sdk-for-js recording "cannot create a secret with an empty name"). */
export const methodNotAllowed = (method: string): VaultRefusal =>
  refusal(405, 'MethodNotAllowed', `HTTP ${method} not allowed`);

/** UNCONFIRMED: a request body or query the service would refuse (the real texts were not found). */
export const badParameter = (message: string): VaultRefusal => refusal(400, 'BadParameter', message);

/** The stand-in's own answer for data-plane operations it does not model (keys, certificates, delete...). */
export const notModelled = (what: string): VaultRefusal =>
  refusal(501, 'NotImplemented', `The Key Vault stand-in does not model ${what}.`);

/** UNCONFIRMED: a path that is no Key Vault operation. */
export const unknownPath = (): VaultRefusal =>
  refusal(404, 'NotFound', 'The requested resource was not found on this key vault.');

/**
 * Injected faults. 429's text is confirmed (vcsjones/AzureSignTool#219, which also shows no Retry-After
 * header); other statuses' texts are UNCONFIRMED.
 */
export const injectedFault = (status: number, code?: string, message?: string): VaultRefusal =>
  status === 429
    ? refusal(
        429,
        code ?? 'Throttled',
        message ??
          'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
      )
    : refusal(
        status,
        code ?? 'ServiceUnavailable',
        message ?? 'The service is temporarily unavailable. Please retry later.',
      );
