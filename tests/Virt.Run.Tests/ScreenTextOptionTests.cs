using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary><c>--screen-text FILE</c>: the VGA text screen written when the guest stops.</summary>
public sealed class ScreenTextOptionTests
{
    [Fact]
    public void ScreenTextParsesItsFile()
    {
        Assert.Equal("screen.txt", RunOptionsParser.Parse(["--screen-text", "screen.txt"]).ScreenTextPath);
        Assert.Null(RunOptionsParser.Parse([]).ScreenTextPath);
        Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["--screen-text"]));
    }

    [Fact]
    public void ScreenTextWritesTheDemoGuestsScreenWithNographic()
    {
        string file = Path.Combine(Path.GetTempPath(), $"virt-screen-{Guid.NewGuid():N}.txt");
        try
        {
            // -nographic sends the demo's COM1 copy to stdout and shows no screen, but the adapter still holds it.
            (int code, string output, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-nographic", "-m", "64M", "--deterministic", "--screen-text", file);
            Assert.Equal(0, code);
            string[] screen = File.ReadAllLines(file);
            Assert.Equal(25, screen.Length);

            // Every line the demo printed to COM1 is also a row of the screen.
            string[] serialLines = output.Split('\n').Select(l => l.TrimEnd('\r', ' ')).Where(l => l.Length > 0).ToArray();
            Assert.NotEmpty(serialLines);
            Assert.All(serialLines, l => Assert.Contains(screen, row => row.Contains(l, StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ScreenTextWithoutAnAdapterSaysSoAndWritesNothing()
    {
        string file = Path.Combine(Path.GetTempPath(), $"virt-screen-{Guid.NewGuid():N}.txt");
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-nographic", "-vga", "none", "-m", "64M", "--deterministic", "--screen-text", file);
        Assert.Equal(0, code);
        Assert.Contains("--screen-text", err, StringComparison.Ordinal);
        Assert.False(File.Exists(file));
    }
}
