/**
 * @module test/helpers/json-keys
 * Finds duplicate keys in JSON text. JSON.parse keeps the last of two equal keys without a word,
 * so a log line carrying `name` twice parses fine and silently loses one value; this scanner
 * walks the text itself (a small tokenizer, no reviver) and reports every object key seen twice
 * in the same object, with its path.
 */

/** Duplicate keys as `path.key` (`$` is the root), or throws on text that is not JSON. */
export function duplicateKeys(text: string): string[] {
  let i = 0
  const found: string[] = []
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++
  }
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i} in ${text.slice(0, 120)}`)
  }
  const str = (): string => {
    if (text[i] !== '"') fail('expected a string')
    const start = i
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    if (i >= text.length) fail('unterminated string')
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const value = (path: string): void => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const keys = new Set<string>()
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        const key = str()
        if (keys.has(key)) found.push(`${path}.${key}`)
        keys.add(key)
        ws()
        if (text[i] !== ':') fail('expected ":"')
        i++
        value(`${path}.${key}`)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return
        }
        fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return
        }
        fail('expected "," or "]"')
      }
    }
    if (c === '"') {
      str()
      return
    }
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64))
    if (m === null) fail('unexpected character')
    i += m?.[0].length ?? 0
  }
  value('$')
  ws()
  if (i !== text.length) fail('trailing characters')
  return found
}
