// Placeholder until this module lands; replaced by its owner.
export {};
