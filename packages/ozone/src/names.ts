/**
 * Ozone's check of a volume or bucket name (`verifyResourceName`): the
 * message of the first rule it breaks, in Ozone's order and words, or
 * undefined for a good name. (Ozone's uppercase test is `'A' < c < 'Z'`,
 * so `A` and `Z` fall to "unsupported character", as there.)
 */
export function resourceNameProblem(name: string | undefined | null): string | undefined {
  if (name === undefined || name === null) return "Bucket or Volume name is null";
  if (name.length < 3 || name.length > 63) return "Bucket or Volume length is illegal, valid length is 3-63 characters";
  if (name[0] === "." || name[0] === "-") return "Bucket or Volume name cannot start with a period or dash";
  const last = name[name.length - 1];
  if (last === "." || last === "-") return "Bucket or Volume name cannot end with a period or dash";
  let digitsOnly = true;
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c > "A" && c < "Z") return "Bucket or Volume name does not support uppercase characters";
    if (c !== "." && c !== "-" && !/^[0-9a-z]$/.test(c)) return `Bucket or Volume name has an unsupported character : ${c}`;
    const previous = i > 0 ? name[i - 1] : undefined;
    if (c === "." && previous === ".") return "Bucket or Volume name should not have two contiguous periods";
    if (c === "." && previous === "-") return "Bucket or Volume name should not have period after dash";
    if (c === "-" && previous === ".") return "Bucket or Volume name should not have dash after period";
    if (c !== "." && !/[0-9]/.test(c)) digitsOnly = false;
  }
  if (digitsOnly) return "Bucket or Volume name cannot be an IPv4 address or all numeric";
  return undefined;
}
