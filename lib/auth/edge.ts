/**
 * The header CloudFront adds on its way to the API when the optional edge (EDGE_FIREWALL) is on;
 * its value is the edge secret. Lower case, as API Gateway passes headers to the receiver.
 */
export const EDGE_HEADER = 'x-flashduty-actions-edge';
