/**
 * Placement of blocks on cache nodes by rendezvous hashing.
 * @module
 */
export { hash53, Ring } from "./rendezvous.ts";
