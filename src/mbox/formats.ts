export type MboxFormat = "auto" | "mboxo" | "mboxrd" | "mboxcl" | "mboxcl2";
export const MBOX_FORMATS: MboxFormat[] = ["auto", "mboxo", "mboxrd", "mboxcl", "mboxcl2"];
