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
