// Small DOM helpers shared by the panels.

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Shows an error above the panels (or clears it with null). */
export function showError(err: unknown): void {
  const box = $('error');
  box.hidden = err === null;
  box.textContent = err === null ? '' : err instanceof Error ? err.message : String(err);
}

/** Runs an action from a button: the button is disabled while it runs, failures are shown. */
export function onClick(button: HTMLButtonElement, action: () => Promise<void>): void {
  button.addEventListener('click', async () => {
    button.disabled = true;
    showError(null);
    try {
      await action();
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
}

export function numberField(id: string): number | undefined {
  const v = $<HTMLInputElement>(id).value.trim();
  return v === '' ? undefined : Number(v);
}
