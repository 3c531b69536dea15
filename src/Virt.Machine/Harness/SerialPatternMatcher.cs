using System.Text;
using System.Text.RegularExpressions;

namespace Virt.Machine;

/// <summary>
/// Finds a pattern in a serial byte stream one byte at a time, so that a match is noticed at the very byte that
/// completes it, whatever chunks the output came in.
/// </summary>
internal abstract class SerialPatternMatcher
{
    /// <summary>The match, once found.</summary>
    public SerialMatch? Match { get; protected set; }

    /// <summary>Takes the next byte of output.</summary>
    /// <param name="value">The byte.</param>
    /// <param name="endOffset">The capture offset just past this byte.</param>
    /// <returns>True when this byte completed a match (then <see cref="Match"/> is set).</returns>
    public abstract bool Feed(byte value, long endOffset);

    /// <summary>A matcher for literal text.</summary>
    public static SerialPatternMatcher For(string pattern) => new LiteralMatcher(pattern);

    /// <summary>A matcher for a regular expression.</summary>
    public static SerialPatternMatcher For(Regex pattern) => new RegexMatcher(pattern);

    /// <summary>
    /// Literal text, matched on its UTF-8 bytes with the Knuth–Morris–Pratt automaton: constant work per byte, and a
    /// match that straddles chunks (or the start of the wait) is found like any other.
    /// </summary>
    private sealed class LiteralMatcher : SerialPatternMatcher
    {
        private readonly string _text;
        private readonly byte[] _pattern;
        private readonly int[] _fallback;
        private int _matched;

        public LiteralMatcher(string text)
        {
            _text = text;
            _pattern = Encoding.UTF8.GetBytes(text);
            _fallback = new int[_pattern.Length];
            int k = 0;
            for (int i = 1; i < _pattern.Length; i++)
            {
                while (k > 0 && _pattern[i] != _pattern[k])
                {
                    k = _fallback[k - 1];
                }

                if (_pattern[i] == _pattern[k])
                {
                    k++;
                }

                _fallback[i] = k;
            }
        }

        public override bool Feed(byte value, long endOffset)
        {
            while (_matched > 0 && value != _pattern[_matched])
            {
                _matched = _fallback[_matched - 1];
            }

            if (value == _pattern[_matched])
            {
                _matched++;
            }

            if (_matched < _pattern.Length)
            {
                return false;
            }

            Match = new SerialMatch(_text, endOffset);
            _matched = _fallback[_matched - 1];
            return true;
        }
    }

    /// <summary>
    /// A regular expression, tried after every decoded character against the current line: the text since the last
    /// line feed (the line feed itself included, so a pattern may end with <c>\n</c>), at most the last
    /// <see cref="Machine.SerialRegexWindowInCharacters"/> characters.
    /// </summary>
    private sealed class RegexMatcher(Regex regex) : SerialPatternMatcher
    {
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly char[] _window = new char[Machine.SerialRegexWindowInCharacters];
        private readonly byte[] _one = new byte[1];
        private readonly char[] _decoded = new char[2];
        private int _length;
        private bool _lineEnded;

        public override bool Feed(byte value, long endOffset)
        {
            _one[0] = value;
            int count = _decoder.GetChars(_one, 0, 1, _decoded, 0, flush: false);
            if (count == 0)
            {
                return false; // inside a multi-byte character
            }

            if (_lineEnded)
            {
                _length = 0;
                _lineEnded = false;
            }

            for (int i = 0; i < count; i++)
            {
                if (_length == _window.Length)
                {
                    // Keep the newer half: a line this long is tested on its tail.
                    int keep = _window.Length / 2;
                    Array.Copy(_window, _length - keep, _window, 0, keep);
                    _length = keep;
                }

                _window[_length++] = _decoded[i];
            }

            _lineEnded = _window[_length - 1] == '\n';
            foreach (ValueMatch m in regex.EnumerateMatches(_window.AsSpan(0, _length)))
            {
                Match = new SerialMatch(new string(_window, m.Index, m.Length), endOffset);
                _length = 0;
                return true;
            }

            return false;
        }
    }
}
