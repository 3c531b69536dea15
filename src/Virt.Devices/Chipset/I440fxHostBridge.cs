using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The host bridge of an Intel 440FX PCIset (82441FX PMC, device 8086:1237, bus 0 device 0), as QEMU's <c>pc</c>
/// machine has it: identity, DRAM registers kept as plain registers, the PAM registers that route the BIOS area between
/// ROM and shadow RAM, and the SMRAM control register. Register names and reset values follow the 82441FX datasheet
/// (Intel 290549, "440FX PCIset", section 3.2).
/// </summary>
/// <remarks>
/// <para>
/// PAM0-PAM6 (59h-5Fh) hold a 2-bit field per segment: bit 0 (RE) sends reads to DRAM, bit 1 (WE) sends writes to
/// DRAM; otherwise the access goes to PCI, where the ROM answers reads and writes go nowhere (3.2.18). PAM0 bits
/// 5:4 cover F0000h-FFFFFh (64 KiB); PAM1-PAM6 cover C0000h-EFFFFh in 16 KiB segments, the low nibble first. The
/// field's encoding is that of <see cref="ShadowMode"/>, so each write goes straight to the board's
/// <see cref="IShadowMemoryControl"/>.
/// </para>
/// <para>
/// SMRAM (72h, 3.2.23) is a register only: Virt does not emulate System Management Mode, so D_OPEN, D_CLS and
/// G_SMRAME change nothing in the memory map (A0000h-BFFFFh stays the VGA window). Its lock works as the datasheet
/// says: once the guest sets D_LCK, D_OPEN reads 0 and D_OPEN, D_LCK and G_SMRAME are read-only until a reset, so
/// firmware that locks SMRAM and then checks the lock sees what it expects.
/// </para>
/// </remarks>
public sealed class I440fxHostBridge : PciDevice, IStatefulDevice<I440fxHostBridgeState>
{
    /// <summary>Intel's vendor ID.</summary>
    public const ushort IntelVendorId = 0x8086;

    /// <summary>The 82441FX PMC's device ID.</summary>
    public const ushort PmcDeviceId = 0x1237;

    /// <summary>
    /// The subsystem vendor ID QEMU gives every function of its <c>pc</c> board (Red Hat/Qumranet). SeaBIOS reads it
    /// from the host bridge to decide that it runs under QEMU and may trust fw_cfg and the paravirtual interfaces.
    /// </summary>
    public const ushort QemuSubsystemVendorId = 0x1AF4;

    /// <summary>The subsystem ID that goes with <see cref="QemuSubsystemVendorId"/> ("QEMU virtual machine").</summary>
    public const ushort QemuSubsystemId = 0x1100;

    /// <summary>The first PAM register (PAM0).</summary>
    public const int Pam0 = 0x59;

    /// <summary>The number of PAM registers (PAM0-PAM6).</summary>
    public const int PamRegisterCount = 7;

    /// <summary>The SMRAM control register.</summary>
    public const int SmramControl = 0x72;

    /// <summary>SMRAM bit 6, D_OPEN: SMRAM visible outside SMM.</summary>
    public const byte SmramOpen = 0x40;

    /// <summary>SMRAM bit 5, D_CLS: data accesses in SMM go to the VGA window.</summary>
    public const byte SmramClosed = 0x20;

    /// <summary>SMRAM bit 4, D_LCK: locks the SMRAM register until reset.</summary>
    public const byte SmramLock = 0x10;

    /// <summary>SMRAM bit 3, G_SMRAME: SMRAM enabled.</summary>
    public const byte SmramEnable = 0x08;

    /// <summary>SMRAM bits 2:0, C_BASE_SEG: always 010b (A0000h-BFFFFh), read-only.</summary>
    public const byte SmramBaseSegment = 0x02;

    private const byte RevisionId = 0x02;
    private const uint HostBridgeClass = 0x06_0000;
    private const ushort PowerOnCommand = PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster;
    private const ushort PowerOnStatus = 0x0280; // fast back-to-back capable, medium DEVSEL# (3.2.4)

    // Plain registers with their reset values (290549, 3.2): PMCCFG, DETURBO, DBC, DRT, DRAMC, DRAMT, DRB0-7, FDHC, MTT, CLT, ERRCMD, ERRSTS, TRC.
    private const int Pmccfg = 0x50;
    private const int Deturbo = 0x51;
    private const int Dbc = 0x53;
    private const int Drt = 0x55;
    private const int Dramc = 0x57;
    private const int Dramt = 0x58;
    private const int Drb0 = 0x60;
    private const int DrbCount = 8;
    private const int Fdhc = 0x68;
    private const int Mtt = 0x70;
    private const int Clt = 0x71;
    private const int Errcmd = 0x90;
    private const int Errsts = 0x91;
    private const int Trc = 0x93;

    private const byte Pam0Writable = 0x30; // PAM0 bits 3:0 are reserved
    private const byte PamWritable = 0x33;
    private const byte PamFieldMask = 0x03;
    private const byte SmramWritableUnlocked = SmramOpen | SmramClosed | SmramLock | SmramEnable;
    private const byte SmramWritableLocked = SmramClosed;

    private readonly IShadowMemoryControl _shadow;
    private readonly ShadowMode[] _applied = new ShadowMode[13];

    /// <summary>Creates the host bridge in its reset state (every PAM field 0: the whole BIOS area reads ROM).</summary>
    /// <param name="shadow">The board's control of the shadowable segments (see <see cref="PamSegments"/>).</param>
    public I440fxHostBridge(IShadowMemoryControl shadow)
        : base("i440FX host bridge", new PciDeviceIdentity(IntelVendorId, PmcDeviceId, HostBridgeClass, RevisionId) { Command = PowerOnCommand, Status = PowerOnStatus, SubsystemVendorId = QemuSubsystemVendorId, SubsystemId = QemuSubsystemId })
    {
        _shadow = shadow ?? throw new ArgumentNullException(nameof(shadow));
        Span<byte> c = Configuration;
        c[Dbc] = 0x80;
        c[Dramc] = 0x01;
        c[Dramt] = 0x10;
        for (int i = 0; i < DrbCount; i++)
        {
            c[Drb0 + i] = 0x01;
        }

        c[Mtt] = 0x20;
        c[Clt] = 0x10;
        c[SmramControl] = SmramBaseSegment;
        foreach (int register in (ReadOnlySpan<int>)[Pmccfg, Pmccfg + 1, Deturbo, Dbc, Drt, Drt + 1, Dramc, Dramt, Fdhc, Mtt, Clt, Errcmd, Errsts, Trc])
        {
            SetWritableMask(register, 1, 0xFF);
        }

        for (int i = 0; i < DrbCount; i++)
        {
            SetWritableMask(Drb0 + i, 1, 0xFF);
        }

        SetWritableMask(Pam0, 1, Pam0Writable);
        for (int i = 1; i < PamRegisterCount; i++)
        {
            SetWritableMask(Pam0 + i, 1, PamWritable);
        }

        SetWritableMask(SmramControl, 1, SmramWritableUnlocked);
        Array.Fill(_applied, (ShadowMode)(-1));
    }

    /// <summary>
    /// The 13 segments the PAM registers control, in address order: C0000h-EFFFFh in 16 KiB pieces, then F0000h-FFFFFh.
    /// The board creates one shadowable ROM region per segment, named as given.
    /// </summary>
    public static IReadOnlyList<PamSegment> PamSegments { get; } = CreateSegments();

    /// <summary>The current mode of a segment, as the PAM registers select it.</summary>
    /// <param name="segment">An index into <see cref="PamSegments"/>.</param>
    /// <returns>The mode.</returns>
    public ShadowMode GetShadowMode(int segment)
    {
        PamSegment s = PamSegments[segment];
        return (ShadowMode)((Configuration[s.Register] >> s.Shift) & PamFieldMask);
    }

    /// <inheritdoc/>
    public I440fxHostBridgeState SaveState() => new(I440fxHostBridgeState.CurrentVersion, SaveConfiguration());

    /// <inheritdoc/>
    public void RestoreState(I440fxHostBridgeState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != I440fxHostBridgeState.CurrentVersion)
        {
            throw new ArgumentException($"I440fxHostBridgeState.Version {state.Version} is not supported (expected {I440fxHostBridgeState.CurrentVersion}).", nameof(state));
        }

        RestoreConfiguration(state.Configuration);
        ApplySmramLock();
        ApplyPam(force: true);
    }

    /// <inheritdoc/>
    protected override void OnConfigurationWritten(int register, int sizeInBytes)
    {
        int last = register + sizeInBytes - 1;
        if (register <= SmramControl && last >= SmramControl)
        {
            ApplySmramLock();
        }

        if (register < Pam0 + PamRegisterCount && last >= Pam0)
        {
            ApplyPam(force: false);
        }
    }

    /// <inheritdoc/>
    protected override void OnReset() => ApplyPam(force: true);

    private static List<PamSegment> CreateSegments()
    {
        var segments = new List<PamSegment>();
        const uint segmentSize = 16 * 1024;
        for (int i = 0; i < 12; i++)
        {
            uint start = 0xC0000 + ((uint)i * segmentSize);
            segments.Add(new PamSegment($"pam-{start:x5}", start, segmentSize, Pam0 + 1 + (i / 2), (i % 2) * 4));
        }

        segments.Add(new PamSegment("pam-f0000", 0xF0000, 64 * 1024, Pam0, 4));
        return segments;
    }

    /// <summary>After D_LCK is set: D_OPEN cleared, and D_OPEN, D_LCK and G_SMRAME read-only until reset (3.2.23).</summary>
    private void ApplySmramLock()
    {
        if ((Configuration[SmramControl] & SmramLock) != 0)
        {
            Configuration[SmramControl] = (byte)(Configuration[SmramControl] & ~SmramOpen);
            SetWritableMask(SmramControl, 1, SmramWritableLocked);
        }
        else
        {
            SetWritableMask(SmramControl, 1, SmramWritableUnlocked);
        }
    }

    private void ApplyPam(bool force)
    {
        for (int i = 0; i < PamSegments.Count; i++)
        {
            ShadowMode mode = GetShadowMode(i);
            if (force || mode != _applied[i])
            {
                _applied[i] = mode;
                _shadow.SetShadowMode(PamSegments[i].RegionName, mode);
            }
        }
    }
}
