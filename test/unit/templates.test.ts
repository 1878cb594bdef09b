import { describe, expect, it } from "vitest";
import {
  renderString,
  renderTemplate,
  TemplateLimitError,
  validateTemplate,
} from "../../src/engine/templates";
import { htmlToText } from "../../src/lib/text";

const ctx = {
  contact: { email: "ada@example.com", data: {} },
  vars: { name: "Ada" },
  event: {},
  workflow: { id: "wf_1", name: "W" },
  enrollment: { id: "enr_1" },
  unsubscribeUrl: "https://nudge.test/t/u/x",
};

describe("templates run inside limits", () => {
  it.each(["include", "render", "layout"])(
    "refuses the %s tag at save: templates cannot read files",
    (tag) => {
      const problems = validateTemplate({ subject: "s", html: `<p>{% ${tag} "secrets" %}</p>` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({
        path: "html",
        message: expect.stringContaining(`{% ${tag} %} is not available`),
      });
    },
  );

  it("stops a render that runs too long", () => {
    expect(() => renderString("{% for i in (1..100000000) %}x{% endfor %}", ctx)).toThrow(
      TemplateLimitError,
    );
  });

  it("stops a render that builds too much", () => {
    const doubling = `{% assign s = "xxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}`;
    expect(() => renderString(doubling, ctx)).toThrow(TemplateLimitError);
  });

  it("reads only a value's own properties", () => {
    expect(
      renderString("[{{ vars.hasOwnProperty }}][{{ vars.constructor }}][{{ vars.name }}]", ctx),
    ).toBe("[][][Ada]");
  });

  it("caps the rendered subject at 998 characters and each body at 1 MiB", () => {
    expect(
      renderTemplate({ subject: "x".repeat(998), html: "<p>ok</p>" }, ctx).subject,
    ).toHaveLength(998);
    expect(() =>
      renderTemplate(
        { subject: `{{ "x" | append: "${"y".repeat(998)}" }}`, html: "<p>ok</p>" },
        ctx,
      ),
    ).toThrow(/subject is 999 characters; at most 998/);
    const big = `{% for i in (1..1100) %}${"z".repeat(1000)}{% endfor %}`;
    expect(() => renderTemplate({ subject: "s", html: big }, ctx)).toThrow(
      /html is 1,100,000 bytes; at most 1,048,576/,
    );
    expect(() => renderTemplate({ subject: "s", html: "<p>x</p>", text: big }, ctx)).toThrow(
      TemplateLimitError,
    );
  });
});

describe("htmlToText", () => {
  it("decodes entities correctly, beyond U+FFFF too", () => {
    expect(
      htmlToText(
        "<p>It&#x27;s &rsquo;fine&rsquo; &mdash; really&hellip;&nbsp;ok &#128512; &amp; &lt;b&gt;</p>",
      ),
    ).toBe("It's \u2019fine\u2019 \u2014 really\u2026 ok \u{1F600} & <b>");
  });

  it("keeps link targets, drops scripts, styles and comments, and breaks blocks", () => {
    const html =
      '<html><head><title>T</title><style>p{color:red}</style></head><body><!-- hidden --><h1>Hi</h1><p>Go <a href="https://a.test/x?y=1&amp;z=2">there</a> or <a href=https://b.test>https://b.test</a></p><script>alert(1)</script><ul><li>one</li><li>two</li></ul>line<br>break</body></html>';
    expect(htmlToText(html)).toBe(
      "Hi\n\nGo there (https://a.test/x?y=1&z=2) or https://b.test\n\n- one\n\n- two\n\nline\nbreak",
    );
  });

  it("stays linear on input built to make backtracking scans explode", () => {
    expect(htmlToText(`${"<a href='x'>".repeat(50_000)}text${"<script>".repeat(20_000)}`)).toBe(
      "text",
    );
    expect(htmlToText("<".repeat(100_000))).toBe("<".repeat(100_000));
    expect(htmlToText("<!--".repeat(100_000))).toBe("");
    expect(htmlToText(`<p>${"<b>".repeat(100_000)}x</p>`)).toBe("x");
  });
});
