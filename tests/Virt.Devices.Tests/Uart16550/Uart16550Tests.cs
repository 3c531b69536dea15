using FsCheck.Xunit;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Uart16550;

public sealed class Uart16550Tests
{
    private const ushort Rbr = 0, Thr = 0, Ier = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    private readonly ManualClock _clock = new();
    private readonly RecordingInterruptLine _irq = new();
    private readonly QueueSerialBackend _backend = new();

    private Virt.Devices.Uart16550 Create(UartOptions? options = null) => new(options ?? UartOptions.Com1, _irq, _clock, _backend);

    private static byte In(Virt.Devices.Uart16550 uart, ushort offset) => (byte)uart.Read(offset, 1);

    private static void Out(Virt.Devices.Uart16550 uart, ushort offset, byte value) => uart.Write(offset, 1, value);

    [Fact]
    public void Reset_GivesDatasheetValues()
    {
        var uart = Create();
        Assert.Equal(0x01, In(uart, Iir)); // no interrupt pending, FIFOs off
        Assert.Equal(0x60, In(uart, Lsr)); // THRE and TEMT
        Assert.Equal(0x00, In(uart, Ier));
        Assert.Equal(0x00, In(uart, Lcr));
        Assert.Equal(0xB0, In(uart, Msr)); // host looks like a modem with CTS, DSR, DCD
        Assert.Equal((ushort)0x3F8, uart.PortBindings[0].FirstPort);
        Assert.Equal(8, uart.PortBindings[0].Count);
    }

    [Fact]
    public void DivisorLatch_AndScratch()
    {
        var uart = Create();
        Out(uart, Lcr, 0x83); // DLAB, 8N1
        Out(uart, 0, 0x0C);
        Out(uart, 1, 0x00);
        Assert.Equal(0x0C, In(uart, 0));
        Assert.Equal(0x00, In(uart, 1));
        Assert.Equal(9600, uart.BaudRate);
        // 10 bits at 9600 baud = 1,041,666 ns.
        Assert.Equal(1_041_666, uart.CharacterTimeNanoseconds);
        Out(uart, Lcr, 0x84); // 5 data bits, 1.5 stop bits: 1 + 5 + 1.5 = 7.5 bits
        Assert.Equal(781_250, uart.CharacterTimeNanoseconds);
        Out(uart, Lcr, 0x9F); // 8 data bits, even parity, 2 stop bits: 12 bits
        Assert.Equal(1_250_000, uart.CharacterTimeNanoseconds);
        Out(uart, Lcr, 0x03);
        Out(uart, Ier, 0xFF);
        Assert.Equal(0x0F, In(uart, Ier)); // DLAB off: offset 1 is IER again; bits 4-7 read 0 on a 16550A
        Out(uart, Scr, 0x5A);
        Assert.Equal(0x5A, In(uart, Scr));
    }

    [Fact]
    public void Loopback_EchoesCharactersAndModemLines()
    {
        var uart = Create();
        Out(uart, Mcr, 0x10 | 0x01); // loop, DTR
        Out(uart, Thr, 0x41);
        Assert.Equal(0x61, In(uart, Lsr)); // DR, THRE, TEMT
        Assert.Equal(0x41, In(uart, Rbr));
        Assert.Empty(_backend.Output); // nothing reached the host line
        byte msr = In(uart, Msr);
        Assert.Equal(0x20, msr & 0xF0); // DSR = DTR
        Out(uart, Mcr, 0x10 | 0x02 | 0x04 | 0x08); // RTS, OUT1, OUT2
        msr = In(uart, Msr);
        Assert.Equal(0xD0, msr & 0xF0); // CTS, RI, DCD
        Assert.Equal(0x0B, msr & 0x0F); // DCTS, DDSR (DTR dropped), DDCD; no TERI on a rising RI
        Out(uart, Mcr, 0x10);
        Assert.Equal(0x04, In(uart, Msr) & 0x04); // TERI on RI falling
    }

    [Fact]
    public void Loopback_WithOut2_ReceivedByteRaisesTheIrq()
    {
        // QEMU and Bochs: in loopback with OUT2 set, the looped-back byte's received-data interrupt reaches the IRQ line.
        var uart = Create();
        Out(uart, Ier, 0x01); // ERBFI
        Out(uart, Mcr, 0x10 | 0x08); // loop, OUT2
        Assert.False(_irq.IsAsserted);
        Out(uart, Thr, 0x5A);
        Assert.Equal(0x04, In(uart, Iir) & 0x0F); // received data available
        Assert.True(_irq.IsAsserted);
        Assert.Equal(0x5A, In(uart, Rbr));
        Assert.False(_irq.IsAsserted); // reading the byte clears the request
    }

    [Fact]
    public void Loopback_WithoutOut2_KeepsTheIrqLow()
    {
        var uart = Create();
        Out(uart, Ier, 0x01);
        Out(uart, Mcr, 0x10); // loop, OUT2 clear: the board's IRQ driver stays off
        Out(uart, Thr, 0x5A);
        Assert.Equal(0x04, In(uart, Iir) & 0x0F);
        Assert.False(_irq.IsAsserted);
        Out(uart, Mcr, 0x10 | 0x08); // setting OUT2 now connects the pending request
        Assert.True(_irq.IsAsserted);
    }

    [Fact]
    public void Loopback_WithOut2_DeliversIrq4ThroughThePic()
    {
        var pic = new Pic8259Pair();
        var uart = new Virt.Devices.Uart16550(UartOptions.Com1, pic.CreateInputLine(4, "COM1"), _clock, _backend);
        Virt.Memory.IPortDevice master = pic.PortBindings[0].Device;
        master.Write(1, 1, 0xEF); // OCW1: unmask IRQ 4 only
        Out(uart, Ier, 0x01);
        Out(uart, Mcr, 0x10 | 0x08);
        Assert.False(pic.HasPendingInterrupt);
        Out(uart, Thr, 0x41);
        Assert.True(pic.HasPendingInterrupt);
        Assert.Equal(new Pic8259Options().MasterPowerOnVectorBase + 4, pic.AcknowledgeInterrupt());
    }

    [Fact]
    public void Fifo_TriggerLevelAndIirFifoBits()
    {
        var uart = Create();
        Out(uart, Mcr, 0x10);
        Out(uart, Fcr, 0x87); // enable, clear both, trigger 8
        Out(uart, Ier, 0x01);
        for (int i = 0; i < 7; i++)
        {
            Out(uart, Thr, (byte)i);
        }

        Assert.Equal(0xC1, In(uart, Iir));
        Out(uart, Thr, 7);
        Assert.Equal(0xC4, In(uart, Iir)); // received data available at the trigger level
        Assert.Equal(0, In(uart, Rbr));
        Assert.Equal(0xC1, In(uart, Iir)); // below the trigger again
        for (int i = 1; i < 8; i++)
        {
            Assert.Equal(i, In(uart, Rbr));
        }

        Assert.Equal(0x60, In(uart, Lsr) & 0x61);
    }

    [Fact]
    public void Fifo_HoldsSixteenThenOverrunIsLineStatusWithTopPriority()
    {
        var uart = Create();
        Out(uart, Mcr, 0x10);
        Out(uart, Fcr, 0xC7); // trigger 14
        Out(uart, Ier, 0x0F);
        for (int i = 0; i < 17; i++)
        {
            Out(uart, Thr, (byte)i);
        }

        // RLS > RDA > THRE > MS: all four are pending now.
        Assert.Equal(0xC6, In(uart, Iir));
        Assert.Equal(0x63, In(uart, Lsr)); // DR, OE, THRE, TEMT; reading clears OE
        Assert.Equal(0xC4, In(uart, Iir));
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(i, In(uart, Rbr)); // the 17th character was the one lost
        }

        Assert.Equal(0xC2, In(uart, Iir)); // THRE, cleared by this read
        Out(uart, Mcr, 0x11); // DTR toggles DSR in loopback: modem status change
        Assert.Equal(0xC0, In(uart, Iir));
        In(uart, Msr);
        Assert.Equal(0xC1, In(uart, Iir));
    }

    [Fact]
    public void ThrEmptyInterrupt_RaisedWhenEnabledAndClearedByThrWrite()
    {
        var uart = Create();
        Out(uart, Mcr, 0x08); // OUT2 connects the interrupt to the board
        Out(uart, Ier, 0x02);
        Assert.Equal(0x02, In(uart, Iir));
        Assert.Equal(0x01, In(uart, Iir)); // reading IIR cleared it
        Assert.False(_irq.IsAsserted);
        _backend.RefuseOutput = true;
        Out(uart, Thr, 1); // goes to the shift register; THR empties again
        Assert.True(_irq.IsAsserted);
        Out(uart, Thr, 2); // held: host refuses, THR stays full
        Assert.Equal(0x01, In(uart, Iir));
        Assert.Equal(0x00, In(uart, Lsr) & 0x60);
        _backend.RefuseOutput = false;
        Assert.Equal(0x60, In(uart, Lsr) & 0x60); // the LSR poll retried the host
        Assert.Equal(new byte[] { 1, 2 }, _backend.Output);
    }

    [Fact]
    public void RefusedCharacter_StaysOnTheLineWhenLoopbackIsTurnedOn()
    {
        // Linux's 8250 probe turns on loopback right after the boot loader's last character, which a slow host may
        // still be refusing: that character was sent as far as the guest can tell, so it reaches the host, not the receiver.
        var uart = Create();
        _backend.RefuseOutput = true;
        Out(uart, Thr, (byte)'!');
        Out(uart, Mcr, 0x10); // loopback
        _backend.RefuseOutput = false;
        Assert.Equal(0x60, In(uart, Lsr) & 0x61); // the LSR poll retried the host: transmitter empty, nothing received
        Assert.Equal(new[] { (byte)'!' }, _backend.Output);
        Out(uart, Thr, (byte)'?'); // a character written in loopback is looped back
        Assert.Equal(0x01, In(uart, Lsr) & 0x01);
        Assert.Equal((byte)'?', In(uart, Rbr));
        Assert.Equal(new[] { (byte)'!' }, _backend.Output);
    }

    [Fact]
    public void FlushTransmitter_HandsTheHostEverythingHeld()
    {
        var uart = Create();
        Out(uart, Fcr, 0x01);
        _backend.RefuseOutput = true;
        foreach (byte b in "abcde"u8)
        {
            Out(uart, Thr, b);
        }

        Assert.Equal(5, uart.PendingTransmitCharacters);
        Assert.False(uart.FlushTransmitter(TimeSpan.Zero)); // a host that keeps refusing: given up at the deadline
        Assert.Empty(_backend.Output);

        _backend.RefuseOutput = false;
        _backend.RefuseNextAttempts = 3; // the host catches up while the flush waits
        Assert.True(uart.FlushTransmitter(TimeSpan.FromSeconds(30)));
        Assert.Equal("abcde"u8.ToArray(), _backend.Output);
        Assert.Equal(0, uart.PendingTransmitCharacters);
        Assert.Equal(0x60, In(uart, Lsr) & 0x60);
    }

    [Fact]
    public void FlushTransmitter_WithNothingHeld_RaisesNoInterrupt()
    {
        var uart = Create();
        Out(uart, Mcr, 0x08);
        Out(uart, Ier, 0x02);
        Assert.Equal(0x02, In(uart, Iir)); // the THRE interrupt of enabling ETBEI, cleared by this read
        Assert.True(uart.FlushTransmitter(TimeSpan.Zero));
        Assert.Equal(0x01, In(uart, Iir));
        Assert.False(_irq.IsAsserted);
    }

    [Fact]
    public void CharacterTimeout_AfterFourCharacterTimes()
    {
        var uart = Create();
        Out(uart, Lcr, 0x83);
        Out(uart, 0, 12); // 9600 baud
        Out(uart, Lcr, 0x03);
        Out(uart, Fcr, 0xC1); // trigger 14
        Out(uart, Ier, 0x01);
        Out(uart, Mcr, 0x08);
        _backend.Send(0x31, 0x32, 0x33);
        _clock.Advance(1_000_000); // with the interrupt enabled, the receive timer pulls host bytes
        Assert.Equal(0xC1, In(uart, Iir));
        long fourChars = 4 * uart.CharacterTimeNanoseconds;
        _clock.Advance(fourChars - 1);
        Assert.Equal(0xC1, In(uart, Iir));
        Assert.False(_irq.IsAsserted);
        _clock.Advance(1);
        Assert.True(_irq.IsAsserted);
        Assert.Equal(0xCC, In(uart, Iir));
        Assert.Equal(0x31, In(uart, Rbr)); // reading clears the timeout and restarts the timer
        Assert.Equal(0xC1, In(uart, Iir));
        _clock.Advance(fourChars);
        Assert.Equal(0xCC, In(uart, Iir));
    }

    [Fact]
    public void ReceivedDataInterrupt_PolledFromHostAndGatedByOut2()
    {
        var uart = Create();
        Out(uart, Ier, 0x01);
        _backend.Send(0x55);
        _clock.Advance(1_000_000); // the receiver polls the host once per millisecond
        Assert.False(_irq.IsAsserted); // OUT2 off: the PC's IRQ driver is disabled
        Out(uart, Mcr, 0x08);
        Assert.True(_irq.IsAsserted);
        Assert.Equal(0x55, In(uart, Rbr));
        Assert.False(_irq.IsAsserted);
    }

    [Fact]
    public void InterruptDrivenReceive_EveryBurstGivesAnEdge()
    {
        var uart = Create();
        Out(uart, Fcr, 0x81); // FIFO, trigger 8
        Out(uart, Ier, 0x01);
        Out(uart, Mcr, 0x0B); // DTR, RTS, OUT2
        byte[] data = new byte[64 * 1024];
        new Random(5).NextBytes(data);
        _backend.Send(data);
        var received = new List<byte>(data.Length);
        int handled = 0;
        for (int step = 0; step < 1_000_000 && received.Count < data.Length; step++)
        {
            _clock.Advance(10_000);
            if (_irq.RisingEdges == handled)
            {
                continue; // an edge-triggered PIC only interrupts on a new edge
            }

            handled = _irq.RisingEdges;
            // The fake interrupt handler: service until IIR says nothing is pending.
            while ((In(uart, Iir) & 0x01) == 0)
            {
                while ((In(uart, Lsr) & 0x01) != 0)
                {
                    received.Add(In(uart, Rbr));
                }
            }

            Assert.False(_irq.IsAsserted); // the handler left the line low: the next burst is a new edge
        }

        Assert.Equal(data, received);
        Assert.True(_irq.RisingEdges >= data.Length / 16); // at most one FIFO load (16 bytes) per edge
    }

    [Fact]
    public void BaudRatePacing_TransmitsOneCharacterPerCharacterTime()
    {
        var uart = Create(UartOptions.Com2 with { TransmitPacing = UartPacing.BaudRate, ReceivePacing = UartPacing.BaudRate });
        Out(uart, Lcr, 0x83);
        Out(uart, 0, 12);
        Out(uart, Lcr, 0x03);
        Out(uart, Fcr, 0x01);
        long t = uart.CharacterTimeNanoseconds;
        foreach (byte b in "abc"u8)
        {
            Out(uart, Thr, b);
        }

        Assert.Empty(_backend.Output);
        Assert.Equal(0x00, In(uart, Lsr) & 0x60); // two still in the FIFO
        _clock.Advance(t);
        Assert.Equal("a"u8.ToArray(), _backend.Output);
        _clock.Advance(t);
        Assert.Equal(0x20, In(uart, Lsr) & 0x60); // FIFO empty, shift register busy
        _clock.Advance(t);
        Assert.Equal("abc"u8.ToArray(), _backend.Output);
        Assert.Equal(0x60, In(uart, Lsr) & 0x60);

        _backend.Send(1, 2, 3);
        _clock.Advance(t);
        Assert.Equal(0x01, In(uart, Lsr) & 0x01);
        Assert.Equal(1, In(uart, Rbr));
        Assert.Equal(0x00, In(uart, Lsr) & 0x01); // the next one is still on the wire
        _clock.Advance(2 * t);
        Assert.Equal(2, In(uart, Rbr));
        Assert.Equal(3, In(uart, Rbr));
    }

    [Fact]
    public void FifoDisabled_HoldsOneCharacter()
    {
        var uart = Create();
        _backend.Send(1, 2, 3);
        Assert.Equal(0x01, In(uart, Lsr) & 0x01);
        Assert.Equal(0x01, In(uart, Iir)); // IIR bits 7-6 clear without FIFOs
        Assert.Equal(1, In(uart, Rbr));
        Assert.Equal(2, In(uart, Rbr)); // the next came from the host when the holding register emptied
        Assert.Equal(3, In(uart, Rbr));
        Assert.Equal(0x00, In(uart, Lsr) & 0x01);
    }

    [Property(MaxTest = 100)]
    public void State_RoundTrips(byte[] program)
    {
        var clock = new ManualClock();
        var backend = new QueueSerialBackend();
        var uart = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), clock, backend);
        for (int i = 0; i + 2 < program.Length; i += 3)
        {
            ushort offset = (ushort)(program[i] & 7);
            switch (program[i + 2] % 5)
            {
                case 0:
                    uart.Read(offset, 1);
                    break;
                case 1:
                case 2:
                    uart.Write(offset, 1, program[i + 1]);
                    break;
                case 3:
                    backend.Send(program[i + 1]);
                    backend.RefuseOutput = (program[i + 1] & 1) != 0;
                    break;
                default:
                    clock.Advance(program[i + 1] * 50_000L);
                    break;
            }
        }

        Uart16550State saved = uart.SaveState();
        var restored = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), clock, new QueueSerialBackend());
        restored.RestoreState(saved);
        Assert.Equal(saved, restored.SaveState());
    }
}
