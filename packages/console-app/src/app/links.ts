/** A link's click handler: `action` instead of following the href. */
export function follow(action: () => void): (e: Event) => void {
  return (e) => {
    e.preventDefault();
    action();
  };
}
