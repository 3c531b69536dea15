using Iced.Intel;
using Virt.Memory;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// A ring-0 monitor on top of <see cref="ProtectedModeHarness"/> that loads its own 32-bit TSS (SS0:ESP0 = 10h:70000h, a
/// software interrupt redirection bitmap and an I/O permission bitmap) and IRETs into 16-bit virtual-8086 code at
/// 2000:0000 (linear 20000h) with SS:SP = 3000:FFF0 and DS, ES, FS, GS = 4000h, 4100h, 4200h, 4300h.
/// </summary>
internal sealed class Virtual8086Harness
{
    public const ushort V86Tss = 0x70;
    public const ushort ConformingCode = 0x78;
    public const uint TssBase = 0x5000;
    public const uint RedirectionMapOffset = 0x68;
    public const uint IoMapOffset = 0x88;
    public const uint Esp0 = 0x70000;
    public const ushort V86Cs = 0x2000;
    public const ushort V86Ss = 0x3000;
    public const ushort V86Sp = 0xFFF0;
    public const ushort V86Ds = 0x4000;
    public const ushort V86Es = 0x4100;
    public const ushort V86Fs = 0x4200;
    public const ushort V86Gs = 0x4300;
    public const uint FlagVm = 1u << 17;
    public const uint FlagVif = 1u << 19;
    public const uint FlagVip = 1u << 20;
    public const uint Iopl3 = 0x3000;

    public Virtual8086Harness()
    {
        Machine = new H();

        // 32-bit available TSS at 5000h, limit A8h: redirection bitmap at 68h-87h, I/O map base 88h (ports 0-FFh), and
        // the final all-ones byte at A8h (Intel SDM Vol. 1, 19.5.2; Vol. 3A, 20.3.3, Figure 20-5).
        Machine.SetDescriptor(V86Tss, 0x0000_8900_0000_00A8UL | ((ulong)TssBase << 16));
        Machine.SetDescriptor(ConformingCode, 0x00CF_9E00_0000_FFFF);
        Machine.Memory.WriteDoubleWord(new PhysicalAddress(TssBase + 4), Esp0);
        Machine.Memory.WriteWord(new PhysicalAddress(TssBase + 8), H.FlatData);
        Machine.Memory.WriteWord(new PhysicalAddress(TssBase + 0x66), (ushort)IoMapOffset);
        for (uint i = 0; i < 32; i++)
        {
            Machine.Memory.WriteByte(new PhysicalAddress(TssBase + RedirectionMapOffset + i), 0xFF);
            Machine.Memory.WriteByte(new PhysicalAddress(TssBase + IoMapOffset + i), 0xFF);
        }

        Machine.Memory.WriteByte(new PhysicalAddress(TssBase + IoMapOffset + 32), 0xFF);
    }

    public H Machine { get; }

    public Cpu Cpu => Machine.Cpu;

    public PhysicalMemoryMap Memory => Machine.Memory;

    /// <summary>Clears the I/O bitmap bit of <paramref name="port"/> (0-FFh): the port becomes accessible.</summary>
    public void AllowPort(int port)
    {
        var address = new PhysicalAddress(TssBase + IoMapOffset + (uint)(port >> 3));
        Memory.WriteByte(address, (byte)(Memory.ReadByte(address) & ~(1 << (port & 7))));
    }

    /// <summary>Clears the redirection bitmap bit of <paramref name="vector"/>: with VME, INT n goes to the 8086 program's IVT.</summary>
    public void Redirect(int vector)
    {
        var address = new PhysicalAddress(TssBase + RedirectionMapOffset + (uint)(vector >> 3));
        Memory.WriteByte(address, (byte)(Memory.ReadByte(address) & ~(1 << (vector & 7))));
    }

    /// <summary>Bytes of 16-bit code assembled at IP 0 (for instruction offsets).</summary>
    public static byte[] Code16(Action<Assembler> build) => H.Assemble(16, build, 0);

    /// <summary>Places <paramref name="v86"/> at 2000:0000 and loads a monitor that sets CR4 and IRETs into it with <paramref name="eflags"/> (VM is added).</summary>
    public void Load(Action<Assembler> v86, uint eflags, uint cr4Value = 0, Action<Assembler>? beforeIret = null)
    {
        LoadBytes(Code16(v86), eflags, cr4Value, beforeIret);
    }

    /// <summary>As <see cref="Load"/> with raw virtual-8086 code bytes.</summary>
    public void LoadBytes(byte[] v86, uint eflags, uint cr4Value = 0, Action<Assembler>? beforeIret = null)
    {
        Memory.Write(new PhysicalAddress((uint)V86Cs << 4), v86);
        Machine.Load(a =>
        {
            if (cr4Value != 0)
            {
                a.mov(eax, cr4Value);
                a.mov(cr4, eax);
            }

            a.mov(ax, V86Tss);
            a.ltr(ax);
            beforeIret?.Invoke(a);
            a.push(V86Gs);
            a.push(V86Fs);
            a.push(V86Ds);
            a.push(V86Es);
            a.push(V86Ss);
            a.push(V86Sp);
            a.push((int)(eflags | FlagVm | 2));
            a.push(V86Cs);
            a.push(0);
            a.iretd();
        });
    }

    /// <summary>Runs until the CPU halts (a monitor handler's HLT) and returns why it stopped.</summary>
    public StopReason Run(long budget = 10_000) => Cpu.Run(budget);

    /// <summary>A dword of the ring-0 stack, counted down from ESP0: 1 is the first (highest) dword pushed.</summary>
    public uint Pushed(int index) => Machine.Dword(Esp0 - (uint)(4 * index));

    public ushort Word(uint linear) => Memory.ReadWord(new PhysicalAddress(linear));

    public ulong Reg(GeneralRegister register) => Cpu.GetRegister(register);
}
