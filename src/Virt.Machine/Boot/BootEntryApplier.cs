using Virt.Cpu;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine.Boot;

/// <summary>Puts the CPU into the state a boot loader's <see cref="BootEntryState"/> describes.</summary>
internal static class BootEntryApplier
{
    // Descriptor attribute words as the CPU keeps them (descriptor bits 40-55): P, DPL 0, S, type; D/B and G for 32-bit flat segments.
    private const ushort FlatCode32 = 0xC09B;
    private const ushort FlatData32 = 0xC093;

    public static void Apply(Machine machine, BootEntryState entry)
    {
        X86Cpu cpu = machine.Cpu;
        cpu.SetRegister(GeneralRegister.Rax, entry.Eax);
        cpu.SetRegister(GeneralRegister.Rbx, entry.Ebx);
        cpu.SetRegister(GeneralRegister.Rcx, entry.Ecx);
        cpu.SetRegister(GeneralRegister.Rdx, entry.Edx);
        cpu.SetRegister(GeneralRegister.Rsi, entry.Esi);
        cpu.SetRegister(GeneralRegister.Rdi, entry.Edi);
        cpu.SetRegister(GeneralRegister.Rbp, entry.Ebp);
        cpu.SetRegister(GeneralRegister.Rsp, entry.Esp);
        cpu.Flags = entry.Eflags;
        if (entry.Mode == BootCpuMode.RealMode)
        {
            cpu.LoadSegmentRealMode(SegmentRegister.Cs, entry.Cs);
            cpu.LoadSegmentRealMode(SegmentRegister.Ds, entry.Ds);
            cpu.LoadSegmentRealMode(SegmentRegister.Es, entry.Es);
            cpu.LoadSegmentRealMode(SegmentRegister.Fs, entry.Fs);
            cpu.LoadSegmentRealMode(SegmentRegister.Gs, entry.Gs);
            cpu.LoadSegmentRealMode(SegmentRegister.Ss, entry.Ss);
        }
        else
        {
            // Flat 32-bit protected mode, as the Linux and Multiboot protocols require: the descriptor caches hold
            // base 0, limit 4 GiB; the selectors index the GDT the loader placed in guest memory.
            cpu.Cr0 |= 1;
            cpu.SetSegment(SegmentRegister.Cs, new SegmentState(entry.Cs, 0, 0xFFFF_FFFF, FlatCode32));
            cpu.SetSegment(SegmentRegister.Ds, new SegmentState(entry.Ds, 0, 0xFFFF_FFFF, FlatData32));
            cpu.SetSegment(SegmentRegister.Es, new SegmentState(entry.Es, 0, 0xFFFF_FFFF, FlatData32));
            cpu.SetSegment(SegmentRegister.Fs, new SegmentState(entry.Fs, 0, 0xFFFF_FFFF, FlatData32));
            cpu.SetSegment(SegmentRegister.Gs, new SegmentState(entry.Gs, 0, 0xFFFF_FFFF, FlatData32));
            cpu.SetSegment(SegmentRegister.Ss, new SegmentState(entry.Ss, 0, 0xFFFF_FFFF, FlatData32));
        }

        cpu.Eip = entry.Eip;
    }
}
