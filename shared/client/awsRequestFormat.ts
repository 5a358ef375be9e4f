// The wire format of an AWS caller's proof (issue 8; protocols.md §C.4), shared by the client that
// builds it and the broker that checks it, so neither imports the other's dependencies.

/** The token type of a signed AWS request. */
export const AWS_SUBJECT_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';
/** The signed header binding the request to one broker; its value is the broker's audience. */
export const BROKER_AUDIENCE_HEADER = 'x-broker-audience';
/** The request signed: STS GetCallerIdentity, parameters in the query and an empty body. */
export const GET_CALLER_IDENTITY_QUERY = 'Action=GetCallerIdentity&Version=2011-06-15';
