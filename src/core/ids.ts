/** Time-ordered ids (UUIDv7): sortable by creation, unique across nodes without coordination. */
import { v7 } from "uuid";

export const newId = (): string => v7();
