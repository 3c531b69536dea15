namespace Virt.Devices;

/// <summary>
/// One Intel 8259A programmable interrupt controller (datasheet 231468, "8259A Programmable Interrupt Controller").
/// Register and bit names follow the datasheet: IRR, ISR, IMR, ICW1-4, OCW1-3. The pair wires two of these together.
/// </summary>
internal sealed class Pic8259Chip
{
    // ICW1 (datasheet Figure 6): bit 4 marks ICW1, bit 3 LTIM, bit 1 SNGL, bit 0 IC4.
    internal const byte Icw1Marker = 0x10;
    internal const byte Icw1Ltim = 0x08;
    internal const byte Icw1Single = 0x02;
    internal const byte Icw1Ic4 = 0x01;

    // ICW4: bit 4 SFNM, bit 3 BUF, bit 2 M/S, bit 1 AEOI, bit 0 uPM (1 = 8086/8088 mode).
    internal const byte Icw4Sfnm = 0x10;
    internal const byte Icw4Buffered = 0x08;
    internal const byte Icw4MasterSlave = 0x04;
    internal const byte Icw4AutoEoi = 0x02;
    internal const byte Icw4Microprocessor8086 = 0x01;

    public Pic8259Chip(bool isMaster)
    {
        IsMaster = isMaster;
    }

    public bool IsMaster { get; }

    public byte Irr { get; set; }

    public byte Isr { get; set; }

    public byte Imr { get; set; }

    /// <summary>The current level of each IR pin, for edge detection and level-triggered requests.</summary>
    public byte InputLevels { get; set; }

    /// <summary>Per-input level-triggered mode from the ELCR (4D0h/4D1h), combined with ICW1.LTIM.</summary>
    public byte Elcr { get; set; }

    /// <summary>ICW2 T7-T3: the vector of IR0; IRn gives <c>VectorBase | n</c>.</summary>
    public byte VectorBase { get; set; }

    /// <summary>ICW3 as written: the master's slave bitmap, the slave's ID in bits 2-0.</summary>
    public byte Icw3 { get; set; }

    /// <summary>ICW4 as written (zero when ICW1.IC4 was clear).</summary>
    public byte Icw4 { get; set; }

    /// <summary>ICW1 as written.</summary>
    public byte Icw1 { get; set; }

    /// <summary>0 when initialized; otherwise the number (2-4) of the ICW the chip waits for.</summary>
    public int InitStep { get; set; }

    /// <summary>The IR with the lowest priority; the next one (mod 8) has the highest. 7 after ICW1.</summary>
    public int LowestPriority { get; set; } = 7;

    /// <summary>OCW2 "rotate in automatic EOI mode" (R=1, SL=0, EOI=0 sets it).</summary>
    public bool RotateOnAutoEoi { get; set; }

    /// <summary>OCW3 ESMM/SMM: special mask mode.</summary>
    public bool SpecialMask { get; set; }

    /// <summary>OCW3 RR/RIS: reads of the command port return ISR (true) or IRR (false).</summary>
    public bool ReadIsr { get; set; }

    /// <summary>OCW3 P: the next read of the command port is a poll.</summary>
    public bool PollPending { get; set; }

    public bool LevelTriggeredAll => (Icw1 & Icw1Ltim) != 0;

    public bool Single => (Icw1 & Icw1Single) != 0;

    public bool AutoEoi => (Icw4 & Icw4AutoEoi) != 0;

    public bool SpecialFullyNested => (Icw4 & Icw4Sfnm) != 0;

    /// <summary>The inputs that follow their level (ICW1.LTIM for all, or the ELCR per input).</summary>
    public byte LevelMask => LevelTriggeredAll ? (byte)0xFF : Elcr;

    /// <summary>The inputs with a slave on them (master only, cascade mode).</summary>
    public byte CascadeMask => IsMaster && !Single ? Icw3 : (byte)0;

    public void PowerOn(byte vectorBase, byte icw3)
    {
        Icw1 = Icw1Marker | Icw1Ic4;
        VectorBase = vectorBase;
        Icw3 = icw3;
        Icw4 = Icw4Microprocessor8086;
        InitStep = 0;
        Irr = 0;
        Isr = 0;
        Imr = 0xFF;
        Elcr = 0;
        LowestPriority = 7;
        RotateOnAutoEoi = false;
        SpecialMask = false;
        ReadIsr = false;
        PollPending = false;
        Irr = (byte)(InputLevels & LevelMask);
    }

    /// <summary>Reports a new level on an IR pin.</summary>
    public void SetInput(int ir, bool level)
    {
        byte mask = (byte)(1 << ir);
        if (level)
        {
            if ((InputLevels & mask) == 0)
            {
                // Rising edge: both modes request. In edge mode the request stays latched until INTA even if the pin
                // falls first (the datasheet asks devices to hold it; latching lets IInterruptLine.Pulse work).
                InputLevels |= mask;
                Irr |= mask;
            }
        }
        else
        {
            InputLevels &= (byte)~mask;
            if ((LevelMask & mask) != 0)
            {
                Irr &= (byte)~mask;
            }
        }
    }

    /// <summary>Re-applies the level-triggered inputs after LTIM or the ELCR changed.</summary>
    public void RefreshLevelRequests()
    {
        byte level = LevelMask;
        Irr = (byte)((Irr & ~level) | (InputLevels & level));
    }

    /// <summary>The IR with the highest priority among <paramref name="bits"/>, or -1.</summary>
    public int HighestPriority(int bits)
    {
        if (bits == 0)
        {
            return -1;
        }

        for (int i = 1; i <= 8; i++)
        {
            int ir = (LowestPriority + i) & 7;
            if ((bits & (1 << ir)) != 0)
            {
                return ir;
            }
        }

        return -1;
    }

    /// <summary>The IR the chip would signal on INT now, or -1 (datasheet "Priority Resolver").</summary>
    public int GetRequest()
    {
        int pending = Irr & ~Imr;
        int request = HighestPriority(pending);
        if (request < 0)
        {
            return -1;
        }

        int inService = Isr;
        if (SpecialMask)
        {
            // Special mask mode: a masked in-service level does not hold off other levels.
            inService &= ~Imr;
        }

        if (SpecialFullyNested && (CascadeMask & (1 << request)) != 0)
        {
            // Special fully nested mode: a slave input in service does not block a higher request from the same slave.
            inService &= ~(1 << request);
        }

        int served = HighestPriority(inService);
        if (served >= 0 && Rank(served) <= Rank(request))
        {
            return -1;
        }

        return request;
    }

    /// <summary>The INTA cycle: moves the chosen IR from IRR to ISR (or not, in AEOI mode). Returns -1 when none (spurious).</summary>
    public int Acknowledge()
    {
        int ir = GetRequest();
        if (ir < 0)
        {
            return -1;
        }

        byte mask = (byte)(1 << ir);
        Irr &= (byte)~mask;
        Irr |= (byte)(InputLevels & LevelMask & mask);
        if (AutoEoi)
        {
            if (RotateOnAutoEoi)
            {
                LowestPriority = ir;
            }
        }
        else
        {
            Isr |= mask;
        }

        return ir;
    }

    /// <summary>The highest in-service IR that a non-specific EOI clears (not a masked one in special mask mode), or -1.</summary>
    public int NonSpecificEoiTarget() => HighestPriority(SpecialMask ? Isr & ~Imr : Isr);

    private int Rank(int ir) => (ir - LowestPriority - 1) & 7;
}
