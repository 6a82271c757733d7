// English function words, lowercased: the words that carry no content for the QA heuristics
// (the sliding-window baseline's overlap, the cloze questions' blanks).

/** Lowercased English stopwords. */
export const STOPWORDS = new Set((
  'a an the and or but if of at by for with about against between into through during before after above below to from ' +
  'up down in out on off over under again further then once here there when where why how what which who whom whose ' +
  'this that these those am is are was were be been being have has had having do does did doing would should could ' +
  'can will shall may might must i me my we our you your he him his she her it its they them their what s t ' +
  'all any both each few more most other some such no nor not only own same so than too very just also as'
).split(' '));
