using FsCheck.Xunit;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Keyboard8042;

public sealed class KeyboardController8042Tests
{
    private readonly ManualClock _clock = new();
    private readonly RecordingInterruptLine _irq1 = new();
    private readonly RecordingInterruptLine _irq12 = new();
    private readonly RecordingPlatformControl _platform = new();
    private readonly KeyboardController8042 _kbc;

    public KeyboardController8042Tests()
    {
        _kbc = new KeyboardController8042(_irq1, _irq12, _clock, _platform);
    }

    private byte Status() => (byte)_kbc.PortBindings[1].Device.Read(0, 1);

    private byte ReadData() => (byte)_kbc.PortBindings[0].Device.Read(0, 1);

    private void Command(byte value) => _kbc.PortBindings[1].Device.Write(0, 1, value);

    private void Data(byte value) => _kbc.PortBindings[0].Device.Write(0, 1, value);

    /// <summary>Reads every byte the controller delivers, letting guest time pass between bytes.</summary>
    private List<byte> Drain()
    {
        var bytes = new List<byte>();
        for (int idle = 0; idle < 3;)
        {
            if ((Status() & 1) != 0)
            {
                bytes.Add(ReadData());
                idle = 0;
            }
            else
            {
                _clock.Advance(1_000_000);
                idle++;
            }
        }

        return bytes;
    }

    [Fact]
    public void SelfTestAndInterfaceTests()
    {
        Assert.Equal(new ushort[] { 0x60, 0x64 }, _kbc.PortBindings.Select(b => b.FirstPort));
        Command(0xAA);
        Assert.Equal(0x01, Status() & 0x01);
        Assert.Equal(0x08, Status() & 0x08); // last write went to the command port
        Assert.Equal(0x55, ReadData());
        Assert.Equal(0x00, Status() & 0x01);
        Command(0xAB);
        Assert.Equal(0x00, ReadData());
        Command(0xA9);
        Assert.Equal(0x00, ReadData());
    }

    [Fact]
    public void CommandByte_ReadWriteAndPortEnables()
    {
        Command(0x20);
        Assert.Equal(0x43, ReadData());
        Command(0x60);
        Data(0x65);
        Assert.Equal(0x04, Status() & 0x04); // system flag follows command byte bit 2
        Command(0xAD);
        Command(0xA7);
        Command(0x20);
        Assert.Equal(0x75, ReadData());
        Command(0xAE);
        Command(0xA8);
        Assert.Equal(0x45, _kbc.CommandByte);
    }

    [Fact]
    public void TypedText_ArrivesAsTranslatedSet1Codes_OnIrq1()
    {
        _kbc.Keyboard.TypeText("Hi!\n");
        Assert.True(_irq1.IsAsserted);
        Assert.False(_irq12.IsAsserted);
        List<byte> bytes = Drain();
        byte[] expected =
        [
            0x2A, 0x23, 0xA3, 0xAA, // Shift down, H down, H up, Shift up
            0x17, 0x97,             // i
            0x2A, 0x02, 0x82, 0xAA, // Shift + 1
            0x1C, 0x9C,             // Enter
        ];
        Assert.Equal(expected, bytes);
        Assert.Equal(expected.Length, _irq1.RisingEdges);
    }

    [Fact]
    public void WithoutTranslation_Set2CodesPassThrough()
    {
        Command(0x60);
        Data(0x01); // IRQ1 only, no translation
        _kbc.Keyboard.TapKey(KeyboardKey.A);
        _kbc.Keyboard.TapKey(KeyboardKey.Up);
        Assert.Equal(new byte[] { 0x1C, 0xF0, 0x1C, 0xE0, 0x75, 0xE0, 0xF0, 0x75 }, Drain());
    }

    [Fact]
    public void ExtendedKeysAndPrintScreen_TranslateLikeSet1()
    {
        _kbc.Keyboard.TapKey(KeyboardKey.Up);
        _kbc.Keyboard.TapKey(KeyboardKey.PrintScreen);
        _kbc.Keyboard.PressKey(KeyboardKey.Pause);
        Assert.Equal(
            new byte[] { 0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA, 0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5 },
            Drain());
    }

    [Fact]
    public void KeyboardCommands_AckAndRespond()
    {
        Command(0x60);
        Data(0x01); // no translation, to see raw keyboard bytes
        Data(0xFF);
        Assert.Equal(new byte[] { 0xFA, 0xAA }, Drain());
        Data(0xF2);
        Assert.Equal(new byte[] { 0xFA, 0xAB, 0x83 }, Drain());
        Data(0xEE);
        Assert.Equal(new byte[] { 0xEE }, Drain());
        Data(0xED);
        Data(0x05);
        Assert.Equal(new byte[] { 0xFA, 0xFA }, Drain());
        Assert.Equal(KeyboardLeds.ScrollLock | KeyboardLeds.CapsLock, _kbc.Keyboard.Leds);
        Data(0xF3);
        Data(0x00);
        Assert.Equal(new byte[] { 0xFA, 0xFA }, Drain());
        Assert.Equal(0, _kbc.Keyboard.Typematic);
        Data(0xF0);
        Data(0x00);
        Assert.Equal(new byte[] { 0xFA, 0xFA, 0x02 }, Drain()); // ACK for F0h, ACK for the option, then the set
        Data(0xF0);
        Data(0x01);
        Assert.Equal(new byte[] { 0xFA, 0xFA }, Drain());
        _kbc.Keyboard.TapKey(KeyboardKey.A);
        Assert.Equal(new byte[] { 0x1E, 0x9E }, Drain()); // set 1 straight from the keyboard
        Data(0xF5);
        _kbc.Keyboard.TapKey(KeyboardKey.A);
        Assert.Equal(new byte[] { 0xFA }, Drain()); // scanning disabled: key dropped
        Data(0xF4);
        Assert.Equal(new byte[] { 0xFA }, Drain());
        Data(0x42);
        Assert.Equal(new byte[] { 0xFE }, Drain()); // unknown command: resend
        Assert.Equal(1, _kbc.GuestMisuseCount);
    }

    [Fact]
    public void TranslatedIdentifyAndScanSet_Read41()
    {
        Data(0xF2);
        Assert.Equal(new byte[] { 0xFA, 0xAB, 0x41 }, Drain()); // 83h translates to 41h
        Data(0xF0);
        Data(0x00);
        Assert.Equal(new byte[] { 0xFA, 0xFA, 0x41 }, Drain()); // set 2, reported as 02h, translates to 41h
    }

    [Fact]
    public void Typematic_RepeatsHeldKeyAfterDelay()
    {
        _kbc.Keyboard.PressKey(KeyboardKey.A);
        Assert.Equal(new byte[] { 0x1E }, Drain()); // Drain lets 3 ms pass: less than the 500 ms delay
        _clock.Advance(500_000_000);
        Assert.Equal(new byte[] { 0x1E }, Drain());
        _clock.Advance(92_000_000); // default period: 11 * 2 * 4.17 ms
        _kbc.Keyboard.ReleaseKey(KeyboardKey.A);
        Assert.Equal(new byte[] { 0x1E, 0x9E }, Drain());
    }

    [Fact]
    public void OutputPort_DrivesA20AndReset()
    {
        Command(0xD0);
        Assert.Equal(0xCF, ReadData());
        Command(0xD1);
        Data(0xCD); // A20 off, reset line high
        Assert.False(_platform.A20Enabled);
        Assert.Empty(_platform.ResetRequests);
        Command(0xD1);
        Data(0xCF);
        Assert.True(_platform.A20Enabled);
        Command(0xDD);
        Assert.False(_platform.A20Enabled);
        Command(0xDF);
        Assert.True(_platform.A20Enabled);
        Command(0xD1);
        Data(0xCE); // bit 0 low: reset
        Assert.Single(_platform.ResetRequests);
        Command(0xFE);
        Assert.Equal(2, _platform.ResetRequests.Count);
        Command(0xFF); // pulses nothing
        Assert.Equal(2, _platform.ResetRequests.Count);
    }

    [Fact]
    public void Port92_FastA20AndReset()
    {
        var port92 = new SystemControlPortA(_platform);
        port92.Write(0, 1, 0x00);
        Assert.False(_platform.A20Enabled);
        Assert.Equal(0u, port92.Read(0, 1));
        port92.Write(0, 1, 0x02);
        Assert.True(_platform.A20Enabled);
        Assert.Equal(2u, port92.Read(0, 1));
        Assert.Empty(_platform.ResetRequests);
        port92.Write(0, 1, 0x03);
        Assert.Single(_platform.ResetRequests);
        port92.Write(0, 1, 0x03); // no new 0-to-1 transition
        Assert.Single(_platform.ResetRequests);
        port92.RestoreState(port92.SaveState());
        Assert.Equal(new SystemControlPortAState(1, 3), port92.SaveState());
    }

    [Fact]
    public void Mouse_CommandsThroughD4AndPacketsOnIrq12()
    {
        Command(0xD4);
        Data(0xFF);
        Assert.Equal(new byte[] { 0xFA, 0xAA, 0x00 }, Drain());
        Command(0xD4);
        Data(0xF4);
        Assert.True(_irq12.IsAsserted);
        Assert.Equal(0x21, Status() & 0x21); // output buffer full, from the auxiliary device
        Assert.Equal(new byte[] { 0xFA }, Drain());
        _kbc.Mouse.Move(10, -5, MouseButtons.Left);
        Assert.Equal(new byte[] { 0x09, 0x0A, 0x05 }, Drain()); // up 5 is +5 in PS/2
        _kbc.Mouse.Move(-300, 0);
        Assert.Equal(new byte[] { 0x18, 0x00, 0x00, 0x18, 0xD4, 0x00 }, Drain()); // -256 then -44

        foreach (byte rate in new byte[] { 200, 100, 80 })
        {
            Command(0xD4);
            Data(0xF3);
            Command(0xD4);
            Data(rate);
        }

        Command(0xD4);
        Data(0xF2);
        Assert.Equal(new byte[] { 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x03 }, Drain());
        _kbc.Mouse.Move(0, 0, MouseButtons.None, deltaWheel: 1);
        Assert.Equal(new byte[] { 0x08, 0x00, 0x00, 0x01 }, Drain());
        Command(0xD4);
        Data(0xE9);
        Assert.Equal(new byte[] { 0xFA, 0x20, 0x02, 80 }, Drain());
    }

    [Fact]
    public void WriteOutputBufferCommands_LoadAsKeyboardOrAux()
    {
        Command(0xD2);
        Data(0x5A);
        Assert.True(_irq1.IsAsserted);
        Assert.Equal(0x5A, ReadData());
        Command(0xD3);
        Data(0x77);
        Assert.True(_irq12.IsAsserted);
        Assert.Equal(0x77, ReadData());
        Assert.False(_irq12.IsAsserted);
    }

    [Fact]
    public async Task HostInputQueue_FilledFromAnotherThread_IsPlayedOnTheMachineThread()
    {
        var queue = new InputEventQueue();
        var kbc = new KeyboardController8042(_irq1, _irq12, _clock, _platform, hostInput: queue);
        await Task.Run(() =>
        {
            queue.TypeText("ok");
            queue.TapKey(KeyboardKey.Enter);
        });
        Assert.Throws<ArgumentException>(() => queue.TypeText("\u00e9"));
        Assert.Equal(0u, kbc.PortBindings[1].Device.Read(0, 1) & 1); // nothing before the poll
        var bytes = new List<byte>();
        for (int i = 0; i < 100; i++)
        {
            _clock.Advance(1_000_000);
            if ((kbc.PortBindings[1].Device.Read(0, 1) & 1) != 0)
            {
                bytes.Add((byte)kbc.PortBindings[0].Device.Read(0, 1));
            }
        }

        Assert.Equal(new byte[] { 0x18, 0x98, 0x25, 0xA5, 0x1C, 0x9C }, bytes);
        Assert.True(queue.IsEmpty);
    }

    [Property(MaxTest = 50)]
    public void Port92_StateRoundTrips(byte[] writes)
    {
        var platform = new RecordingPlatformControl();
        var port92 = new SystemControlPortA(platform);
        foreach (byte b in writes)
        {
            port92.Write(0, 1, b);
        }

        var restored = new SystemControlPortA(platform);
        restored.RestoreState(port92.SaveState());
        Assert.Equal(port92.SaveState(), restored.SaveState());
        Assert.Equal(port92.Read(0, 1), restored.Read(0, 1));
    }

    [Fact]
    public void TypeText_RejectsCharactersWithoutKeys()
    {
        Assert.Throws<ArgumentException>(() => _kbc.Keyboard.TypeText("ok é"));
        Assert.Empty(Drain());
    }

    [Property(MaxTest = 100)]
    public void State_RoundTrips(byte[] program)
    {
        var clock = new ManualClock();
        var kbc = new KeyboardController8042(new RecordingInterruptLine(), new RecordingInterruptLine(), clock, new RecordingPlatformControl());
        for (int i = 0; i + 1 < program.Length; i += 2)
        {
            byte value = program[i + 1];
            switch (program[i] % 6)
            {
                case 0:
                    kbc.PortBindings[0].Device.Read(0, 1);
                    break;
                case 1:
                    kbc.PortBindings[0].Device.Write(0, 1, value);
                    break;
                case 2:
                    kbc.PortBindings[1].Device.Write(0, 1, value);
                    break;
                case 3:
                    kbc.Keyboard.PressKey((KeyboardKey)(value % ((int)KeyboardKey.Pause + 1)));
                    break;
                case 4:
                    kbc.Mouse.Move((sbyte)value, value % 7, (MouseButtons)(value & 7));
                    break;
                default:
                    clock.Advance(value * 100_000L);
                    break;
            }
        }

        KeyboardController8042State saved = kbc.SaveState();
        var restored = new KeyboardController8042(new RecordingInterruptLine(), new RecordingInterruptLine(), clock, new RecordingPlatformControl());
        restored.RestoreState(saved);
        Assert.Equal(saved, restored.SaveState());
    }
}
