using System.Text;
using System.Text.RegularExpressions;
using FsCheck.Xunit;
using Xunit;

namespace Virt.Machine.Tests.Harness;

/// <summary>The byte-at-a-time pattern matchers behind WaitForSerialAsync, against string search as the reference.</summary>
public sealed class SerialPatternMatcherTests
{
    /// <summary>On text over a tiny alphabet (many partial matches), the literal matcher ends where IndexOf finds the pattern.</summary>
    [Property(MaxTest = 500)]
    public bool LiteralMatchEndsWhereIndexOfFindsIt(string patternSeed, string textSeed)
    {
        string pattern = Squash("a" + patternSeed, 6);
        string text = Squash(textSeed ?? string.Empty, 60);
        int index = text.IndexOf(pattern, StringComparison.Ordinal);
        long expected = index < 0 ? -1 : index + pattern.Length;
        return FirstMatchEnd(SerialPatternMatcher.For(pattern), text) == expected;
    }

    [Fact]
    public void ALiteralIsMatchedOnItsUtf8Bytes()
    {
        Assert.Equal(Encoding.UTF8.GetByteCount("> héllo"), FirstMatchEnd(SerialPatternMatcher.For("héllo"), "> héllo"));
    }

    [Fact]
    public void ARegexMayEndWithALineFeedButCannotSpanLines()
    {
        Assert.Equal("booting...\nREADY\n".Length, FirstMatchEnd(SerialPatternMatcher.For(new Regex("READY\n")), "booting...\nREADY\n"));
        Assert.Equal(-1, FirstMatchEnd(SerialPatternMatcher.For(new Regex("booting.*READY", RegexOptions.Singleline)), "booting...\nREADY\n"));
    }

    [Fact]
    public void ARegexIsFoundAtTheEarliestCharacterThatCompletesIt()
    {
        var matcher = SerialPatternMatcher.For(new Regex(@"id=\d+"));

        Assert.Equal("id=4".Length, FirstMatchEnd(matcher, "id=42\n"));
        Assert.Equal("id=4", matcher.Match!.Text);
    }

    [Fact]
    public void ARegexOnAVeryLongLineIsTriedOnItsTail()
    {
        string text = new string('x', 3 * Machine.SerialRegexWindowInCharacters) + "END";

        Assert.Equal(text.Length, FirstMatchEnd(SerialPatternMatcher.For(new Regex("x{10}END")), text));
    }

    private static long FirstMatchEnd(SerialPatternMatcher matcher, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (matcher.Feed(bytes[i], i + 1))
            {
                return i + 1;
            }
        }

        return -1;
    }

    /// <summary>Maps a string onto the letters a and b, at most <paramref name="maxLength"/> long.</summary>
    private static string Squash(string seed, int maxLength) =>
        new([.. seed.Take(maxLength).Select(c => (c & 1) == 0 ? 'a' : 'b')]);
}
