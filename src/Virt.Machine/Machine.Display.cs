using Virt.Devices;

namespace Virt.Machine;

/// <summary>The host's view of the screen.</summary>
public sealed partial class Machine
{
    /// <summary>
    /// Renders the display adapter's current picture (any mode: text, VGA graphics, VBE), or returns null when the
    /// machine has no display adapter. Call it on the machine thread, between runs.
    /// </summary>
    /// <param name="drawCursor">Whether to draw the text cursor.</param>
    /// <returns>The frame (RGBA), or null.</returns>
    public VgaFrame? CaptureScreen(bool drawCursor = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return FindDevice<VgaAdapter>()?.Render(drawCursor);
    }

    /// <summary>
    /// Reads the text screen the display adapter shows (for the standard 80x25 mode, the character bytes of the buffer at
    /// B8000h from the CRTC start address, mapped from code page 437, 00h as a space), one string per row with trailing
    /// spaces trimmed; null when the machine has no display adapter or the adapter is not in a text mode. This is the
    /// screen a user sees, not a serial copy of it. Call it on the machine thread, between runs.
    /// </summary>
    /// <returns>The rows, top first, or null.</returns>
    public string[]? CaptureTextScreen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        VgaAdapter? vga = FindDevice<VgaAdapter>();
        return vga is { DisplayMode: VgaDisplayMode.Text } ? vga.GetScreenText() : null;
    }

    /// <summary>Writes the screen (<see cref="CaptureScreen"/>) as a PNG image; returns false, writing nothing, without a display adapter.</summary>
    /// <param name="destination">The stream.</param>
    /// <returns>Whether an image was written.</returns>
    public bool SaveScreenshot(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        VgaFrame? frame = CaptureScreen();
        if (frame is null)
        {
            return false;
        }

        frame.SavePng(destination);
        return true;
    }
}
