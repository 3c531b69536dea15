using System.Collections.Concurrent;

namespace Virt.Devices;

/// <summary>
/// Keyboard and mouse input from a host thread (a UI, a test driver) to the machine. The host calls the
/// methods from any thread; the keyboard controller drains the queue on the machine thread at its
/// host-input poll interval and plays the events into its keyboard and mouse, in order.
/// </summary>
public sealed class InputEventQueue
{
    private readonly ConcurrentQueue<InputEvent> _events = new();

    /// <summary>Whether events are waiting.</summary>
    public bool IsEmpty => _events.IsEmpty;

    /// <summary>Queues a key press.</summary>
    /// <param name="key">The key.</param>
    public void PressKey(KeyboardKey key) => _events.Enqueue(new InputEvent(InputEventKind.Press, key, 0, 0, MouseButtons.None, 0));

    /// <summary>Queues a key release.</summary>
    /// <param name="key">The key.</param>
    public void ReleaseKey(KeyboardKey key) => _events.Enqueue(new InputEvent(InputEventKind.Release, key, 0, 0, MouseButtons.None, 0));

    /// <summary>Queues a key press and release.</summary>
    /// <param name="key">The key.</param>
    public void TapKey(KeyboardKey key)
    {
        PressKey(key);
        ReleaseKey(key);
    }

    /// <summary>Queues text to type on a US layout (see <see cref="Ps2Keyboard.TypeText"/>).</summary>
    /// <param name="text">Printable ASCII plus \n, \r, \t, \b and Esc.</param>
    /// <exception cref="ArgumentException">When a character has no key on a US keyboard; nothing is queued then.</exception>
    public void TypeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (int i = 0; i < text.Length; i++)
        {
            if (!ScanCodeTables.TryMapCharacter(text[i], out _, out _))
            {
                throw new ArgumentException($"Character U+{(int)text[i]:X4} at index {i} has no key on a US keyboard.", nameof(text));
            }
        }

        _events.Enqueue(new InputEvent(InputEventKind.Text, default, 0, 0, MouseButtons.None, 0, text));
    }

    /// <summary>Queues a mouse movement (see <see cref="Ps2Mouse.Move"/>).</summary>
    /// <param name="deltaX">Counts to the right.</param>
    /// <param name="deltaY">Counts down.</param>
    /// <param name="buttons">The buttons held after the move.</param>
    /// <param name="deltaWheel">Wheel counts.</param>
    public void MoveMouse(int deltaX, int deltaY, MouseButtons buttons = MouseButtons.None, int deltaWheel = 0) =>
        _events.Enqueue(new InputEvent(InputEventKind.Mouse, default, deltaX, deltaY, buttons, deltaWheel));

    /// <summary>Plays every queued event into the keyboard and mouse (machine thread).</summary>
    internal void Drain(Ps2Keyboard keyboard, Ps2Mouse mouse)
    {
        while (_events.TryDequeue(out InputEvent e))
        {
            switch (e.Kind)
            {
                case InputEventKind.Press:
                    keyboard.PressKey(e.Key);
                    break;
                case InputEventKind.Release:
                    keyboard.ReleaseKey(e.Key);
                    break;
                case InputEventKind.Text:
                    keyboard.TypeText(e.Text!);
                    break;
                default:
                    mouse.Move(e.DeltaX, e.DeltaY, e.Buttons, e.DeltaWheel);
                    break;
            }
        }
    }

    private enum InputEventKind
    {
        Press,
        Release,
        Text,
        Mouse,
    }

    private readonly record struct InputEvent(InputEventKind Kind, KeyboardKey Key, int DeltaX, int DeltaY, MouseButtons Buttons, int DeltaWheel, string? Text = null);
}
