// The Options panel: "Loading the options…" while GET /api/options is asked, then either the controls
// (built by options.js from its answer) or why it failed, with Try again; and what the controls say now.

import { ApiError, getOptions } from "./api.js";
import { describeError, errorSentence } from "./messages.js";
import { buildControls, readConfig } from "./options.js";

export class OptionsPanel {
  /** The API's options as options.js reads them, once the controls show them; null until then. */
  config = null;

  /** `announcer` is announce.js's; `loaded(config, body)` runs once the options have loaded. */
  constructor(announcer, { loaded }) {
    const $ = (id) => document.getElementById(id);
    this.announcer = announcer;
    this.loaded = loaded;
    this.els = {
      form: $("options-form"),
      format: $("format"),
      formatHint: $("format-hint"),
      quality: $("quality"),
      qualityValue: $("quality-value"),
      qualityHint: $("quality-hint"),
      filters: $("filters"),
      filtersNote: $("filters-note"),
      variantsHint: $("variants-hint"),
      status: $("options-status"),
      loadingNote: $("options-loading"),
      error: $("options-error"),
      errorTitle: $("options-error-title"),
      errorDetail: $("options-error-detail"),
      retry: $("options-retry"),
    };
    const { els } = this;
    els.quality.addEventListener("input", () => {
      els.qualityValue.textContent = els.quality.value;
    });
    els.form.addEventListener("submit", (event) => event.preventDefault());
    els.retry.addEventListener("click", async () => {
      els.retry.disabled = true;
      await this.load();
      els.retry.disabled = false;
      // Focus would be lost with the hidden button: put it on the first control, or back on the button.
      (this.config ? els.format : els.retry).focus();
    });
  }

  /** GET /api/options, then the controls and `loaded`; on failure a readable error. */
  async load() {
    const { els } = this;
    document.documentElement.dataset.options = "loading";
    els.error.hidden = true;
    els.loadingNote.hidden = false;
    els.status.hidden = false;
    let body;
    let config;
    try {
      body = await getOptions();
      config = readConfig(body);
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.config = config;
    buildControls(els, config);
    els.status.hidden = true;
    els.form.hidden = false;
    document.documentElement.dataset.options = "ready";
    this.loaded(config, body);
  }

  /** A readable error, and Try again where it can help. */
  #failed(error) {
    const { els } = this;
    if (!(error instanceof ApiError)) console.warn("unexpected failure", error);
    els.errorTitle.textContent = "The options could not be loaded, so nothing can be uploaded yet.";
    els.errorDetail.textContent = errorSentence(error);
    els.loadingNote.hidden = true;
    els.error.hidden = false;
    els.retry.hidden = !describeError(error).retry;
    document.documentElement.dataset.options = "failed";
    this.announcer.announceError(`${els.errorTitle.textContent} ${els.errorDetail.textContent}`);
  }

  /** The options chosen now, as an upload sends them. */
  read() {
    const data = new FormData(this.els.form);
    return {
      format: String(data.get("format") || "original"),
      // A disabled slider (PNG) is not in the form: the default goes along and means nothing.
      quality: Number.parseInt(String(data.get("quality") || this.config.quality.default), 10),
      filters: data.getAll("filters").map(String),
    };
  }
}
