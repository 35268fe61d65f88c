import { z } from "zod";

/**
 * The subset of the Adaptive Card 1.5 schema (adaptivecards.io/schemas/adaptive-card.json) the
 * broker's Teams notices use: TextBlock, FactSet, Container, ColumnSet/Column, Action.OpenUrl,
 * inside a Teams workflow `message` attachment. Strict objects: a typo'd property fails here,
 * where Teams would silently drop it.
 */

const color = ["default", "dark", "light", "accent", "good", "warning", "attention"] as const;
const containerStyle = ["default", "emphasis", "good", "attention", "warning", "accent"] as const;
const spacing = ["none", "small", "default", "medium", "large", "extraLarge", "padding"] as const;
/** Enum values in the card schema are case-insensitive. */
const ci = (values: readonly string[]) =>
  z.string().refine((v) => values.some((x) => x.toLowerCase() === v.toLowerCase()), {
    message: `must be one of ${values.join(", ")}`,
  });

const common = {
  id: z.string().optional(),
  spacing: ci(spacing).optional(),
  separator: z.boolean().optional(),
  isVisible: z.boolean().optional(),
};

const textBlock = z.strictObject({
  type: z.literal("TextBlock"),
  text: z.string().min(1),
  color: ci(color).optional(),
  size: ci(["default", "small", "medium", "large", "extraLarge"] as const).optional(),
  weight: ci(["default", "lighter", "bolder"] as const).optional(),
  isSubtle: z.boolean().optional(),
  wrap: z.boolean().optional(),
  maxLines: z.number().int().min(1).optional(),
  fontType: ci(["default", "monospace"] as const).optional(),
  horizontalAlignment: ci(["left", "center", "right"] as const).optional(),
  ...common,
});

const factSet = z.strictObject({
  type: z.literal("FactSet"),
  facts: z.array(z.strictObject({ title: z.string(), value: z.string() })).min(1),
  ...common,
});

const openUrl = z.strictObject({
  type: z.literal("Action.OpenUrl"),
  title: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }),
  style: ci(["default", "positive", "destructive"] as const).optional(),
});

type Element =
  | z.infer<typeof textBlock>
  | z.infer<typeof factSet>
  | { type: "Container"; items: Element[]; [key: string]: unknown }
  | { type: "ColumnSet"; columns: { type: "Column"; items: Element[]; [key: string]: unknown }[] };

const element: z.ZodType<Element> = z.lazy(() => z.union([textBlock, factSet, container, columnSet]));

const container = z.strictObject({
  type: z.literal("Container"),
  items: z.array(element).min(1),
  style: ci(containerStyle).optional(),
  bleed: z.boolean().optional(),
  verticalContentAlignment: ci(["top", "center", "bottom"] as const).optional(),
  ...common,
});

const column = z.strictObject({
  type: z.literal("Column"),
  items: z.array(element),
  width: z
    .union([z.enum(["auto", "stretch"]), z.number().positive(), z.string().regex(/^\d+px$/)])
    .optional(),
  style: ci(containerStyle).optional(),
  verticalContentAlignment: ci(["top", "center", "bottom"] as const).optional(),
  ...common,
});

const columnSet = z.strictObject({
  type: z.literal("ColumnSet"),
  columns: z.array(column).min(1),
  style: ci(containerStyle).optional(),
  bleed: z.boolean().optional(),
  ...common,
});

export const adaptiveCardSchema = z.strictObject({
  $schema: z.literal("http://adaptivecards.io/schemas/adaptive-card.json"),
  type: z.literal("AdaptiveCard"),
  version: z.literal("1.5"),
  body: z.array(element).min(1),
  actions: z.array(openUrl).optional(),
  // Teams' own extension: full-width cards.
  msteams: z.strictObject({ width: z.literal("Full") }).optional(),
});

/** What a Teams workflow ("When a Teams webhook request is received") accepts. */
export const teamsWorkflowMessageSchema = z.strictObject({
  type: z.literal("message"),
  attachments: z
    .array(
      z.strictObject({
        contentType: z.literal("application/vnd.microsoft.card.adaptive"),
        contentUrl: z.null().optional(),
        content: adaptiveCardSchema,
      }),
    )
    .length(1),
});

export type AdaptiveCard = z.infer<typeof adaptiveCardSchema>;
