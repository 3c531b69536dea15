using Virt.Devices;

namespace Virt.Run;

/// <summary>Prints the VGA text screen to a terminal, framed, without trailing blank lines.</summary>
public static class ScreenPrinter
{
    /// <summary>Writes the screen.</summary>
    /// <param name="vga">The adapter.</param>
    /// <param name="output">Where to write.</param>
    public static void Print(VgaAdapter vga, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(vga);
        ArgumentNullException.ThrowIfNull(output);
        if (vga.DisplayMode != VgaDisplayMode.Text)
        {
            VgaFrame frame = vga.Render();
            output.WriteLine($"[{vga.DisplayMode} {frame.Width}x{frame.Height}: no text to print; --screenshot FILE.png saves the picture]");
            return;
        }

        string[] lines = vga.GetScreenText();
        int last = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        string rule = "+" + new string('-', vga.TextColumns) + "+";
        output.WriteLine(rule);
        for (int i = 0; i <= last; i++)
        {
            output.WriteLine("|" + lines[i].PadRight(vga.TextColumns) + "|");
        }

        output.WriteLine(rule);
    }
}
