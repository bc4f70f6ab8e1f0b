/**
 * The names the Kubernetes API server accepts, as it validates them: one place for the
 * checks of namespaces, endpoint hostnames, object names and Service names.
 */

/** A DNS-1123 label: a namespace, an endpoint's hostname. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A DNS-1123 subdomain: an object's name (an EndpointSlice, a service account). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A DNS-1035 label: a Service's name (it starts with a letter). */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
